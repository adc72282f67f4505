"""The Libraries page in headless Chromium, on a laptop and a phone: reached from the top
bar, a folder outside the allowed roots refused with the reason, a folder added and
scanned (its photos processed, a file that is not an image listed with why), a rescan
finding a new file, and the library's album without an upload zone."""
from __future__ import annotations

import shutil

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, inside, page_of_size, screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_libraries_page(browser, live_server, albums_dir, tmp_path, settings):
    allowed = tmp_path / "allowed"
    folder = allowed / "Family photos"
    folder.mkdir(parents=True)
    shutil.copy(albums_dir / "friends" / "paul_rudd.jpg", folder / "paul.jpg")
    (folder / "notes.jpg").write_text("a text file with a photo's name")
    settings.VISAGE_LIBRARY_ROOTS = [str(allowed)]
    make_user("erin", password=PASSWORD)

    width, height = VIEWPORTS["desktop"]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "erin")
        page.click("#main-nav >> text=Libraries")
        page.wait_for_url("**/libraries/")
        page.fill("#id_folder", str(tmp_path))
        page.click("text=Add library")
        error = page.locator("[data-testid=library-error]")
        assert "is not inside a folder allowed for libraries" in error.inner_text()
        assert inside(error.bounding_box(), width, height)
        screenshot(page, "libraries-refused-desktop")

        page.fill("#id_folder", str(folder))
        page.click("text=Add library")  # eager tasks: the scan and the processing run in this request
        page.wait_for_url("**/libraries/*/")
        state = page.locator("[data-testid=scan-state]").inner_text()
        assert "1 added, 1 not taken" in state
        assert "All 1 photo processed" in page.inner_text("#progress")
        errors = page.locator("table.scan-errors")
        assert "notes.jpg" in errors.inner_text() and "not an image" in errors.inner_text()
        assert inside(page.locator("text=Rescan").bounding_box(), width, height)
        screenshot(page, "library-scanned-desktop")

        shutil.copy(albums_dir / "friends" / "kate_siegel.jpg", folder / "kate.jpg")
        page.click("text=Rescan")
        page.wait_for_selector("[data-testid=scan-state]:has-text('1 added, 1 unchanged')")
        assert "All 2 photos processed" in page.inner_text("#progress")
        library_url = page.url

        page.click(".pagehead a:text-is('Photos')")
        page.wait_for_url("**/albums/*/")
        assert "library folder" in page.locator("[data-testid=library-album]").inner_text()
        assert page.locator("#dropzone").count() == 0
        page.wait_for_selector("#photo-grid .status-done >> nth=1")
        screenshot(page, "library-album-desktop")

    width, height = VIEWPORTS["phone"]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "erin")
        page.click("text=Menu")
        page.click("#main-nav >> text=Libraries")
        page.wait_for_url("**/libraries/")
        row = page.locator("table.libraries a", has_text="Family photos")
        assert inside(row.bounding_box(), width, height)
        screenshot(page, "libraries-list-phone")
        page.goto(library_url)
        assert inside(page.locator("text=Rescan").bounding_box(), width, height)
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # long paths wrap
        screenshot(page, "library-scanned-phone")


def test_removing_a_library_asks_first_and_leaves_the_files(browser, live_server, albums_dir, tmp_path, settings):
    folder = tmp_path / "allowed" / "Trip"
    folder.mkdir(parents=True)
    shutil.copy(albums_dir / "friends" / "paul_rudd.jpg", folder / "paul.jpg")
    before = (folder / "paul.jpg").read_bytes()
    settings.VISAGE_LIBRARY_ROOTS = [str(tmp_path / "allowed")]
    settings.VISAGE_LIBRARY_WRITE_SIDECARS = True  # the page then offers to keep the names in the sidecars
    make_user("gina", password=PASSWORD)
    for size, (width, height) in VIEWPORTS.items():
        with page_of_size(browser, width, height) as page:
            sign_in(page, live_server, "gina")
            page.goto(live_server.url + "/libraries/")
            page.fill("#id_folder", str(folder))
            page.click("text=Add library")
            page.wait_for_url("**/libraries/*/")
            page.click("a:text-is('Remove library')")
            page.wait_for_url("**/remove/")
            ask = page.locator("[data-testid=remove-library]")
            assert "1 photo," in ask.inner_text() and "The files stay where they are" in ask.inner_text()
            confirm = page.locator("[data-testid=remove-library] button", has_text="Remove library")
            assert inside(confirm.bounding_box(), width, height)
            keep = page.locator("[data-testid=keep-names] button")
            assert keep.inner_text() == "Write the names to the sidecars first" and inside(keep.bounding_box(), width, height)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            screenshot(page, f"library-remove-{size}")
            confirm.click()
            page.wait_for_url("**/libraries/")
            assert "removed from Visage with its 1 photo; the files in the folder are untouched" in page.inner_text("main")
            assert "No libraries yet." in page.inner_text("main")
            screenshot(page, f"library-removed-{size}")
    assert (folder / "paul.jpg").read_bytes() == before
    assert not (folder / "paul.jpg.xmp").exists()  # nothing written unless asked

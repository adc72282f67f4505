"""An album renamed in place and deleted behind a confirm page, in headless Chromium on a
laptop and a phone: the new name in the heading and the album list, a blank name refused
with the reason, the confirm page saying what goes, Cancel keeping everything, and the
album with its photos and their faces gone after Delete."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, import_photos, inside, page_of_size, screenshot, sign_in
from webapp.faces.models import Face
from webapp.photos.models import Album, Photo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_rename_and_delete_an_album(browser, live_server, albums_dir, viewport):
    owner = make_user(f"ada-{viewport}", password=PASSWORD)
    ids = import_photos(owner, "Holidy", [albums_dir / "bbt" / "bbt3.jpg", albums_dir / "bbt" / "bbt5.jpg"])
    album = Album.objects.get(owner=owner)
    assert Face.objects.filter(photo_id__in=ids).exists()
    width, height = VIEWPORTS[viewport]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, owner.username)
        page.goto(f"{live_server.url}/albums/{album.pk}/")
        page.click("summary:text-is('Rename')")
        field = page.locator("input[name=name]")
        assert inside(field.bounding_box(), width, height) and field.input_value() == "Holidy"
        field.fill("   ")
        page.evaluate("document.querySelector('input[name=name]').removeAttribute('required')")  # what a script could send
        page.click("button:text-is('Save')")
        assert "name" in page.locator(".messages").inner_text().lower()
        page.click("summary:text-is('Rename')")
        page.fill("input[name=name]", "Holiday 2026")
        page.click("button:text-is('Save')")
        assert page.locator("h1").inner_text() == "Holiday 2026"
        assert "renamed" in page.locator(".messages").inner_text()
        screenshot(page, f"70-album-renamed-{viewport}")

        page.click("text=Delete album…")
        page.wait_for_url("**/delete/")
        card = page.locator("[data-testid=delete-album]")
        assert "Its 2 photos go with it" in card.inner_text() and "cannot be undone" in card.inner_text()
        button = page.locator("button:text-is('Delete album')")
        assert inside(button.bounding_box(), width, height)
        screenshot(page, f"71-album-delete-confirm-{viewport}")
        page.click("text=Cancel")
        page.wait_for_url(f"**/albums/{album.pk}/")
        assert Photo.objects.filter(album=album).count() == 2

        page.click("text=Delete album…")
        page.click("button:text-is('Delete album')")
        page.wait_for_url(f"{live_server.url}/")
        assert "deleted with its 2 photos" in page.locator(".messages").inner_text()
        assert "No albums yet" in page.inner_text("main")
        screenshot(page, f"72-album-deleted-{viewport}")
    assert not Album.objects.filter(pk=album.pk).exists()
    assert not Photo.objects.filter(pk__in=ids).exists() and not Face.objects.filter(photo_id__in=ids).exists()

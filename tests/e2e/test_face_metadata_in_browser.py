"""The photo page's metadata line and buttons in a real browser, on a laptop and a phone:
a name in the photo's metadata that found no face is said in words on the page, seen
without scrolling, and "Download with names (XMP)" gives a sidecar with the names."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, inside, page_of_size, screenshot, sign_in
from webapp.faces.tasks import photo_process
from webapp.photos.face_regions import jpeg_with_regions, regions_read
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("screen", VIEWPORTS)
def test_photo_page_says_which_names_found_no_face_and_downloads_them(browser, live_server, albums_dir, screen, settings, tmp_path):
    width, height = VIEWPORTS[screen]
    user = make_user(f"mia-{screen}", password=PASSWORD)
    data = (albums_dir / "bbt" / "bbt2.jpg").read_bytes()
    w, h = Image.open(io.BytesIO(data)).size
    data = jpeg_with_regions(data, [("Leonard", (85 / w, 110 / h, 180 / w, 228 / h)), ("Penny", (0.85, 0.75, 0.95, 0.95))])
    album = album_create(owner=user, name="BBT")
    photo_id = photo_ingest(owner=user, album=album, source=io.BytesIO(data), original_name="bbt2.jpg").photo_id
    photo_process([photo_id])

    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, user.username)
        page.goto(f"{live_server.url}/photos/{photo_id}/")
        line = page.locator("#regions-unmatched")
        assert line.inner_text() == "1 name in this photo's metadata found no face: Penny"
        assert inside(line.bounding_box(), width, height)
        assert "Leonard" in page.locator("li.face .face-name").all_inner_texts()
        download = page.locator("#download-xmp")
        assert download.inner_text() == "Download with names (XMP)"
        assert page.locator("#download-jpeg").is_visible() and page.locator("#sidecar-write").count() == 0
        screenshot(page, f"60-photo-metadata-{screen}")
        with page.expect_download() as event:
            download.click()
        saved = tmp_path / "out.xmp"
        event.value.save_as(saved)
        assert event.value.suggested_filename == "bbt2.jpg.xmp"
        assert [r.name for r in regions_read(data, [("bbt2.jpg.xmp", saved.read_bytes())]).regions] == ["Leonard"]

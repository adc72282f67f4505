"""Sign in, create an album, upload photos with the page's own JavaScript, watch the
results and the progress, and see the face boxes: all in headless Chromium."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import screenshot
from webapp.photos.models import Photo

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_and_browse(page, live_server, albums_dir, tmp_path):
    make_user("erin", password="a long enough password")
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")

    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "erin")
    page.fill("#id_password", "a long enough password")
    page.click("button[type=submit]")
    page.fill("#id_name", "Cast")
    page.click("text=Create album")
    page.wait_for_url("**/albums/*/")
    screenshot(page, "01-empty-album")

    page.set_input_files("#pick-files", [str(albums_dir / "bbt" / "bbt3.jpg"), str(albums_dir / "bbt" / "bbt5.jpg"), str(notes)])
    page.wait_for_selector("#upload-results tbody tr:nth-child(3)")
    results = page.inner_text("#upload-results")
    assert results.count("added") == 2 and "not an image" in results
    page.wait_for_selector("#progress[data-complete=true]")
    page.wait_for_selector("#photo-grid .status-done >> nth=1")
    screenshot(page, "02-album-processed")
    assert "All 2 photos processed" in page.inner_text("#progress")
    assert "notes.jpg" in page.inner_text("#upload-results")  # results stay on screen

    page.click("#photo-grid a:has-text('bbt3.jpg')")
    page.wait_for_selector("svg.boxes rect.facebox:visible")
    assert page.locator("svg.boxes rect:visible").count() == 5
    assert page.locator("li.face img").count() == 5
    screenshot(page, "03-photo-with-boxes")
    assert Photo.objects.filter(status=Photo.Status.DONE).count() == 2

    # Deleting asks first: "Cancel" keeps the photo, "OK" deletes it.
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("text=Delete photo")
    assert questions == ["Delete this photo and its 5 faces (names given to them go too)? This cannot be undone."]
    assert page.locator("svg.boxes rect:visible").count() == 5 and Photo.objects.count() == 2
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Delete photo")
    page.wait_for_url("**/albums/*/")
    assert "Photo deleted." in page.inner_text("body")
    assert page.locator("#photo-grid a:has-text('bbt3.jpg')").count() == 0
    assert list(Photo.objects.values_list("original_name", flat=True)) == ["bbt5.jpg"]

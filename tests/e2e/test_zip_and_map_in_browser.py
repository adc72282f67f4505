"""Upload a .zip of album photos with the page's own JavaScript, watch processing end,
see the face boxes on a photo, then open the face map (computed by a task) and see every
face as a dot: all in headless Chromium."""
from __future__ import annotations

import zipfile

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, screenshot, sign_in
from webapp.faces.models import Face
from webapp.people.models import FaceMap
from webapp.people.services import faces_name
from webapp.photos.models import Photo

pytestmark = pytest.mark.django_db(transaction=True)

IN_ZIP = ["bbt/bbt1.jpg", "bbt/bbt4.jpg", "groups/sample1.jpg"]


def test_zip_upload_boxes_and_face_map(page, live_server, albums_dir, expected_face_counts, tmp_path):
    user = make_user("gina", password=PASSWORD)
    archive = tmp_path / "holiday.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in IN_ZIP:  # kept in their folders, as a zipped-up photo folder would be
            bundle.write(albums_dir / name, arcname=f"holiday/{name}")
        bundle.writestr("holiday/notes.txt", "not a photo")
        bundle.writestr("__MACOSX/holiday/._bbt1.jpg", "finder metadata")

    sign_in(page, live_server, "gina")
    page.fill("#id_name", "Holiday")
    page.click("text=Create album")
    page.wait_for_url("**/albums/*/")
    page.set_input_files("#pick-files", str(archive))
    page.wait_for_selector("#upload-results tbody tr:nth-child(4)")
    rows = page.locator("#upload-results tbody tr").all_inner_texts()
    assert len(rows) == 4  # the three photos and the text file; Finder's metadata is skipped
    assert sum("added" in row for row in rows) == 3
    assert any("holiday.zip: holiday/notes.txt" in row and "rejected" in row for row in rows)
    assert page.inner_text("#upload-text") == "Upload finished: 3 of 4 file(s) added."  # counts the zip's photos
    page.wait_for_selector("#progress[data-complete=true]")
    page.wait_for_selector("#photo-grid .status-done >> nth=2")
    screenshot(page, "20-zip-album-processed")
    assert "All 3 photos processed" in page.inner_text("#progress")
    captions = {
        page.inner_text(f"#photo-grid li:has-text('{name.split('/')[1]}') .caption span >> nth=1")
        for name in IN_ZIP
    }
    expected = {f"{expected_face_counts[name]} faces" for name in IN_ZIP}
    assert captions == expected
    assert Photo.objects.filter(owner=user, status=Photo.Status.DONE).count() == 3

    page.click("#photo-grid a:has-text('bbt4.jpg')")
    page.wait_for_selector("svg.boxes rect.facebox:visible")
    assert page.locator("svg.boxes rect:visible").count() == expected_face_counts["bbt/bbt4.jpg"]
    assert page.locator("li.face img").count() == expected_face_counts["bbt/bbt4.jpg"]
    assert f"{expected_face_counts['bbt/bbt4.jpg']} faces" in page.inner_text("main p.muted")
    screenshot(page, "21-zip-photo-with-boxes")

    # Name one face: the map colours that person's dots and titles them by name.
    someone = max(Face.objects.filter(photo__original_name="sample1.jpg"), key=lambda f: f.box_width)
    faces_name(owner=user, face_ids=[someone.pk], name="Someone")
    named = set(Face.objects.filter(person__name="Someone").values_list("pk", flat=True))

    # The map is computed by a task after the page answered; the page polls until it is drawn.
    page.goto(live_server.url + "/people/")
    page.click("text=Face map")
    page.wait_for_selector("svg.facemap circle")
    screenshot(page, "22-face-map")
    faces = set(Face.objects.filter(owner=user).values_list("pk", flat=True))
    assert len(faces) == sum(expected_face_counts[name] for name in IN_ZIP)
    dots = {int(d) for d in page.locator("svg.facemap circle").evaluate_all("cs => cs.map(c => c.dataset.face)")}
    assert dots == faces
    titles = dict(page.locator("svg.facemap circle").evaluate_all(
        "cs => cs.map(c => [c.dataset.face, c.querySelector('title').textContent + ' ' + c.getAttribute('fill')])"))
    assert {int(pk) for pk, title in titles.items() if title.startswith("Someone hsl(")} == named
    assert sum(title == "Unsorted #9ca3af" for title in titles.values()) == len(faces) - len(named)
    assert f"{len(faces)} faces, mapped" in page.inner_text("#face-map")
    face_map = FaceMap.objects.get(owner=user)
    assert face_map.status == FaceMap.Status.DONE and face_map.face_count == len(faces)

    # Hovering a dot shows that face's crop beside it.
    first = page.locator("svg.facemap circle").first
    first.hover()
    tip = page.locator("#map-tip")
    tip.wait_for(state="visible")
    assert tip.get_attribute("src") == f"/faces/{first.get_attribute('data-face')}/thumbnail.jpg"
    screenshot(page, "23-face-map-hover")

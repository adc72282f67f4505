"""Names in standard face metadata, in and out, on the real BBT photos: regions written into
the photos by the tests (pyexiv2) put onto the detected faces after processing (confirmed,
undoable, never over the user's word), names with no face reported on the photo page, bad
regions reported without failing the photo, a quarter-turned photo, the command run twice,
the downloads, and the round trip of the issue: a tagged library folder indexed, its names
imported, edited, exported to sidecars and imported by a fresh user identically."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from ml.faces.boxes import box_iou
from tests.conftest import FIXTURES, make_user
from tests.samples import BBT_GROUP_PHOTOS
from webapp.faces.models import Face
from webapp.faces.tasks import photo_process
from webapp.people.models import Operation, Person
from webapp.people.oplog import operation_undo
from webapp.people.services import faces_move, faces_name, faces_remove, person_rename
from webapp.photos.face_regions import jpeg_with_regions, regions_read
from webapp.photos.libraries import library_create
from webapp.photos.models import Photo, RegionImport
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db(transaction=False)


def hand_faces(photo: str) -> list[tuple[str, tuple]]:
    """(name, box in pixels) of a BBT group photo's faces boxed by hand, left to right,
    named after tests/samples.py (the faces that are not a character left out)."""
    boxes = json.loads((FIXTURES / "face_boxes.json").read_text())["photos"][f"bbt/{photo}"]["faces"]
    boxes = sorted((tuple(face["box"]) for face in boxes), key=lambda b: b[0] + b[2])
    return [(name, box) for name, box in zip(BBT_GROUP_PHOTOS[photo], boxes, strict=True) if name != "?"]


def as_fractions(faces, width, height):
    return [(name.title(), (x0 / width, y0 / height, x1 / width, y1 / height)) for name, (x0, y0, x1, y1) in faces]


def tagged(albums_dir, photo: str, extra=()) -> bytes:
    """The photo with its characters' names embedded as MWG regions, plus ``extra``."""
    data = (albums_dir / "bbt" / photo).read_bytes()
    width, height = Image.open(io.BytesIO(data)).size
    return jpeg_with_regions(data, as_fractions(hand_faces(photo), width, height) + list(extra))


def upload(user, name: str, data: bytes) -> Photo:
    album = album_create(owner=user, name=f"Album {name}")
    photo_id = photo_ingest(owner=user, album=album, source=io.BytesIO(data), original_name=name).photo_id
    photo_process([photo_id])  # the task: what a worker runs, signals included
    return Photo.objects.get(pk=photo_id)


def names_on_faces(photo: Photo) -> dict[str, str]:
    """hand-box name -> the name of the confirmed person on the face there."""
    found = {}
    for face in Face.objects.filter(photo=photo, person_state=Face.PersonState.CONFIRMED).select_related("person"):
        name, _ = max(hand_faces(photo.original_name), key=lambda item: box_iou(item[1], face.box))
        found[name] = face.person.name
    return found


def test_names_in_a_photo_go_onto_its_faces_and_a_name_without_face_is_shown(user, albums_dir, alice_client):
    photo = upload(user, "bbt1.jpg", tagged(albums_dir, "bbt1.jpg", extra=[("Penny", (0.01, 0.75, 0.08, 0.95))]))

    assert names_on_faces(photo) == {"raj": "Raj", "leonard": "Leonard", "howard": "Howard", "sheldon": "Sheldon"}
    report = RegionImport.objects.get(photo=photo)
    assert (report.matched, report.unmatched, report.refused) == (4, ["Penny"], [])
    operation = Operation.objects.get(owner=user, kind="metadata")
    assert operation.summary == "Names from the metadata of bbt1.jpg: Raj, Leonard, Howard, Sheldon"
    page = alice_client.get(reverse("photo-detail", args=[photo.pk])).content.decode()
    assert "1 name in this photo's metadata found no face: Penny" in page
    assert reverse("photo-metadata-xmp", args=[photo.pk]) in page and "Write names to sidecar" not in page

    operation_undo(owner=user)  # one undo takes the imported names away
    assert not Face.objects.filter(photo=photo, person__isnull=False).exists()
    assert not Person.objects.filter(owner=user).exists()


def test_the_users_word_stands_and_a_second_reading_changes_nothing(user, albums_dir):
    photo = upload(user, "bbt2.jpg", (albums_dir / "bbt" / "bbt2.jpg").read_bytes())
    leonard, sheldon = Face.objects.filter(photo=photo).order_by("box_x0")[1:3]
    faces_name(owner=user, face_ids=[leonard.pk], name="Howard")  # the user says otherwise
    faces_name(owner=user, face_ids=[sheldon.pk], name="Sheldon")
    faces_remove(owner=user, face_ids=[sheldon.pk])  # "not Sheldon"
    photo.file.save("again.jpg", io.BytesIO(tagged(albums_dir, "bbt2.jpg")), save=True)

    call_command("metadata_import", "--user", user.username, stdout=io.StringIO())
    assert names_on_faces(photo) == {"leonard": "Howard"}
    refused = RegionImport.objects.get(photo=photo).refused
    assert [(r["name"], r["reason"]) for r in refused] == [
        ("Leonard", "that face is confirmed as Howard in Visage"), ("Sheldon", "that face was taken out of Sheldon in Visage")]

    faces_remove(owner=user, face_ids=[leonard.pk])  # now Leonard's face is no one's, and not Howard's
    out = io.StringIO()
    call_command("metadata_import", "--user", user.username, "--album", photo.album.name, stdout=out)
    assert names_on_faces(photo) == {"leonard": "Leonard"}
    operations = Operation.objects.filter(owner=user).count()
    again = io.StringIO()
    call_command("metadata_import", "--user", user.username, stdout=again)
    assert Operation.objects.filter(owner=user).count() == operations  # nothing new to do: no operation
    assert "1 photo(s) read: 1 name(s) on their faces (0 new)" in again.getvalue()


def test_bad_metadata_is_reported_and_the_photo_is_processed_all_the_same(user, albums_dir, alice_client):
    data = tagged(albums_dir, "bbt2.jpg", extra=[("Nobody", (1.1, 0.2, 1.3, 0.4))])
    photo = upload(user, "bbt2.jpg", data)
    assert photo.status == Photo.Status.DONE and Face.objects.filter(photo=photo).count() == 3
    assert names_on_faces(photo) == {"leonard": "Leonard", "sheldon": "Sheldon"}
    (refused,) = RegionImport.objects.get(photo=photo).refused
    assert refused["name"] == "Nobody" and "is not inside the photo" in refused["reason"]
    page = alice_client.get(reverse("photo-detail", args=[photo.pk])).content.decode()
    assert "1 face region in the metadata not used" in page and "Nobody (embedded MWG): its area" in page


def test_a_quarter_turned_photo_gets_its_names_on_the_right_faces(user, albums_dir):
    """Stored turned, shown upright by EXIF orientation 6; the MWG areas are in the stored
    pixels (turned by hand here, not by the module under test)."""
    original = Image.open(albums_dir / "bbt" / "bbt2.jpg")
    width, height = original.size
    stored = original.transpose(Image.Transpose.ROTATE_90)  # orientation 6 turns it back
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=92, exif=exif)
    # Shown (x, y) comes from stored (y, 1 - x): a shown box [x0, x1] x [y0, y1] is stored
    # as [y0, y1] x [1 - x1, 1 - x0]; written as a box already in the stored frame.
    regions = [(name, (y0 / height, 1 - x1 / width, y1 / height, 1 - x0 / width))
               for name, (x0, y0, x1, y1) in as_fractions_px(hand_faces("bbt2.jpg"))]
    import pyexiv2
    opened = pyexiv2.ImageData(buffer.getvalue())
    base = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
    fields = {"Xmp.mwg-rs.Regions": "type=Struct", base: "type=Bag"}
    for i, (name, (a, b, c, d)) in enumerate(regions, start=1):
        item = f"{base}[{i}]"
        fields |= {item: "type=Struct", f"{item}/mwg-rs:Name": name, f"{item}/mwg-rs:Type": "Face", f"{item}/mwg-rs:Area": "type=Struct",
                   f"{item}/mwg-rs:Area/stArea:x": str((a + c) / 2), f"{item}/mwg-rs:Area/stArea:y": str((b + d) / 2),
                   f"{item}/mwg-rs:Area/stArea:w": str(c - a), f"{item}/mwg-rs:Area/stArea:h": str(d - b),
                   f"{item}/mwg-rs:Area/stArea:unit": "normalized"}
    opened.modify_xmp(fields)
    data = opened.get_bytes()
    opened.close()

    photo = upload(user, "bbt2.jpg", data)
    assert (photo.width, photo.height) == (width, height)  # Visage's boxes are in the shown photo
    assert names_on_faces(photo) == {"leonard": "Leonard", "sheldon": "Sheldon"}


def as_fractions_px(faces):
    return [(name.title(), box) for name, box in faces]


def test_downloads_carry_the_confirmed_names(user, albums_dir, alice_client):
    photo = upload(user, "bbt2.jpg", tagged(albums_dir, "bbt2.jpg"))
    person_rename(owner=user, person_id=Person.objects.get(owner=user, name="Leonard").pk, name="Leonard Hofstadter")

    sidecar = alice_client.get(reverse("photo-metadata-xmp", args=[photo.pk]))
    assert sidecar["Content-Disposition"] == 'attachment; filename="bbt2.jpg.xmp"'
    original = photo.file.open("rb").read()
    found = regions_read(original, [("bbt2.jpg.xmp", sidecar.content)])
    assert [r.name for r in found.regions] == ["Leonard Hofstadter", "Sheldon"]

    copy = alice_client.get(reverse("photo-download-named", args=[photo.pk]))
    assert copy["Content-Type"] == "image/jpeg"
    assert [r.name for r in regions_read(copy.content).regions] == ["Leonard Hofstadter", "Sheldon"]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(copy.content))), np.asarray(Image.open(io.BytesIO(original))))
    assert photo.file.open("rb").read() == original  # the stored photo is as it was


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def library_names(library) -> dict[tuple[str, tuple], str]:
    """(file, face box rounded to pixels) -> confirmed name, over the whole library."""
    return {
        (face.photo.relative_path, tuple(round(v) for v in face.box)): face.person.name
        for face in Face.objects.filter(photo__library=library, person_state=Face.PersonState.CONFIRMED).select_related("photo", "person")
    }


def test_round_trip_through_a_library_folder(user, albums_dir, tmp_path, settings, django_capture_on_commit_callbacks):
    """The issue's "done when": tagged files indexed in place, names imported, edited in
    Visage, exported to sidecars, imported by a fresh user: the same names on the same faces."""
    settings.VISAGE_LIBRARY_ROOTS = [str(tmp_path)]
    folder = tmp_path / "bbt"
    (folder / "more").mkdir(parents=True)
    for name in ("bbt1.jpg", "bbt2.jpg", "bbt3.jpg"):
        (folder / name).write_bytes(tagged(albums_dir, name))
    (folder / "more" / "bbt5.jpg").write_bytes((albums_dir / "bbt" / "bbt5.jpg").read_bytes())
    shutil.copy(FIXTURES / "xmp" / "bbt2_lightroom_mwg.xmp", folder / "more" / "bbt5.xmp")  # a sidecar of another photo's faces
    with django_capture_on_commit_callbacks(execute=True):
        library = library_create(owner=user, folder=str(folder))
    photos = {p.relative_path: p for p in library.photos.all()}
    assert all(p.status == Photo.Status.DONE for p in photos.values())
    for name in ("bbt1.jpg", "bbt2.jpg", "bbt3.jpg"):
        assert names_on_faces(photos[name]) == {n: n.title() for n, _ in hand_faces(name)}

    # Edited in Visage: a rename, and a face moved to another person.
    person_rename(owner=user, person_id=Person.objects.get(owner=user, name="Leonard").pk, name="Leonard Hofstadter")
    raj_in_bbt3 = Face.objects.get(photo=photos["bbt3.jpg"], person__name="Raj")
    faces_move(owner=user, face_ids=[raj_in_bbt3.pk], name="Rajesh")
    expected = library_names(library)
    assert expected[("bbt3.jpg", tuple(round(v) for v in raj_in_bbt3.box))] == "Rajesh"
    assert sum(name == "Leonard Hofstadter" for name in expected.values()) == 3

    before = files_of(folder)
    settings.VISAGE_LIBRARY_WRITE_SIDECARS = False
    with pytest.raises(Exception, match="does not allow"):
        call_command("metadata_export", "--user", user.username, "--library", str(library.pk))
    settings.VISAGE_LIBRARY_WRITE_SIDECARS = True
    call_command("metadata_export", "--user", user.username, "--library", str(library.pk), stdout=io.StringIO())
    after = files_of(folder)
    assert {k: v for k, v in after.items() if not k.endswith(".xmp")} == {k: v for k, v in before.items() if not k.endswith(".xmp")}
    assert sorted(k for k in after if k.endswith(".xmp")) == ["bbt1.jpg.xmp", "bbt2.jpg.xmp", "bbt3.jpg.xmp", "more/bbt5.xmp"]

    fresh = make_user("fresh")
    with django_capture_on_commit_callbacks(execute=True):
        again = library_create(owner=fresh, folder=str(folder))
    assert library_names(again) == expected
    # bbt5's own sidecar held another photo's faces, where bbt5 has no face: Visage never
    # had a word on them, so the export kept them as the other program wrote them.
    assert RegionImport.objects.get(photo__library=library, photo__relative_path="more/bbt5.jpg").unmatched == ["Leonard", "Sheldon"]
    assert {r.photo.relative_path: r.unmatched for r in RegionImport.objects.filter(photo__library=again)} == {
        "bbt1.jpg": [], "bbt2.jpg": [], "bbt3.jpg": [], "more/bbt5.jpg": ["Leonard", "Sheldon"]}


def test_a_sidecar_tagged_after_indexing_is_read_by_the_next_rescan(user, albums_dir, tmp_path, settings,
                                                                   django_capture_on_commit_callbacks):
    """Tagging in digiKam writes bbt2.jpg.xmp beside a photo Visage already indexed: the
    next rescan reads its names without detecting the faces again, and the one after it,
    with the sidecar as it was, reads nothing."""
    from webapp.photos.libraries import scan_execute, scan_start

    settings.VISAGE_LIBRARY_ROOTS = [str(tmp_path)]
    (tmp_path / "bbt2.jpg").write_bytes((albums_dir / "bbt" / "bbt2.jpg").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        library = library_create(owner=user, folder=str(tmp_path))
    photo = library.photos.get()
    faces_before = set(photo.faces.values_list("pk", flat=True))
    assert names_on_faces(photo) == {}

    def rescan() -> str:
        return scan_execute(scan_id=scan_start(library=library, queue=False).pk).message

    shutil.copy(FIXTURES / "xmp" / "bbt2_digikam_mwg.jpg.xmp", tmp_path / "bbt2.jpg.xmp")
    assert "names read again from 1 changed sidecar" in rescan()
    assert names_on_faces(photo) == {"leonard": "Leonard", "sheldon": "Sheldon"}
    assert set(photo.faces.values_list("pk", flat=True)) == faces_before  # not processed again
    assert "sidecar" not in rescan()


def test_names_written_to_the_sidecars_before_removing_a_library_come_back_with_it(
        user, albums_dir, tmp_path, settings, alice_client, django_capture_on_commit_callbacks):
    """The library's remove page offers to write the names to the sidecars first (where the
    admin allows it) and comes back to itself; removed and added again, the folder brings
    its photos back with those names."""
    settings.VISAGE_LIBRARY_ROOTS = [str(tmp_path)]
    settings.VISAGE_LIBRARY_WRITE_SIDECARS = True
    (tmp_path / "bbt2.jpg").write_bytes((albums_dir / "bbt" / "bbt2.jpg").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        library = library_create(owner=user, folder=str(tmp_path))
    photo = library.photos.get()
    leonard = max(photo.faces.all(), key=lambda f: box_iou(f.box, dict(hand_faces("bbt2.jpg"))["leonard"]))
    faces_name(owner=user, face_ids=[leonard.pk], name="Leonard")
    remove_url = reverse("library-remove", args=[library.pk])
    page = alice_client.get(remove_url).content.decode()
    assert "Write the names to the sidecars first" in page
    answer = alice_client.post(reverse("album-names-export", args=[library.album_id]), {"next": remove_url})
    assert answer.status_code == 302 and answer["Location"] == remove_url
    assert (tmp_path / "bbt2.jpg.xmp").is_file()
    foreign = alice_client.post(reverse("album-names-export", args=[library.album_id]), {"next": "https://elsewhere.example/"})
    assert foreign["Location"] == reverse("album-detail", args=[library.album_id])  # never sent off the site
    alice_client.post(remove_url)
    assert not Photo.objects.filter(owner=user).exists()
    with django_capture_on_commit_callbacks(execute=True):
        again = library_create(owner=user, folder=str(tmp_path))
    assert names_on_faces(again.photos.get()) == {"leonard": "Leonard"}

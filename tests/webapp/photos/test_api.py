"""The API's albums, uploads, photos and libraries (docs/api.md) on real album photos: what
the pages do, as JSON; removing a library leaves every file of its folder as it was."""
from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from webapp.faces.models import Face
from webapp.people.services import faces_name
from webapp.photos.models import Album, Library, LibraryScan, Photo

pytestmark = pytest.mark.django_db(transaction=False)


def upload(client, album_id: int, files, capture):
    with capture(execute=True):  # the processing runs here (eager Celery)
        return client.post(f"/api/v1/albums/{album_id}/photos",
                           {"files": [SimpleUploadedFile(name, data) for name, data in files]})


def test_albums_are_made_renamed_listed_and_deleted(alice_client, user, albums_dir, django_capture_on_commit_callbacks):
    made = alice_client.post("/api/v1/albums", {"name": "  Friends "}, content_type="application/json")
    assert made.status_code == 201
    album = made.json()
    assert album["name"] == "Friends" and album["photo_count"] == 0 and album["library_id"] is None
    assert album["url"].endswith(f"/albums/{album['id']}/")
    for name in ("B", "C"):
        alice_client.post("/api/v1/albums", {"name": name}, content_type="application/json")
    page = alice_client.get("/api/v1/albums", {"limit": 2}).json()
    assert page["count"] == 3 and page["next_offset"] == 2 and [a["name"] for a in page["results"]] == ["C", "B"]
    assert alice_client.get("/api/v1/albums", {"offset": 2}).json()["next_offset"] is None

    renamed = alice_client.patch(f"/api/v1/albums/{album['id']}", {"name": "Old friends"}, content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Old friends"
    empty = alice_client.patch(f"/api/v1/albums/{album['id']}", {"name": " "}, content_type="application/json")
    assert empty.status_code == 400 and empty.json() == {"error": "An album needs a name."}

    data = (albums_dir / "friends" / "paul_rudd.jpg").read_bytes()
    [added] = upload(alice_client, album["id"], [("paul.jpg", data)], django_capture_on_commit_callbacks).json()["results"]
    photo = Photo.objects.get(pk=added["photo_id"])
    stored = photo.file.path
    faces_name(owner=user, face_ids=list(photo.faces.values_list("pk", flat=True)), name="Paul")
    with django_capture_on_commit_callbacks(execute=True):
        deleted = alice_client.delete(f"/api/v1/albums/{album['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": album["id"], "photos": 1}
    assert not Album.objects.filter(pk=album["id"]).exists() and not Photo.objects.filter(pk=photo.pk).exists()
    assert not Face.objects.filter(photo_id=photo.pk).exists()
    assert not os.path.exists(stored)  # the stored upload went too
    assert alice_client.get(f"/api/v1/albums/{album['id']}").json() == {"error": f"No album with id {album['id']}."}


def test_an_upload_answers_file_by_file_and_the_photo_shows_its_faces(alice_client, albums_dir, django_capture_on_commit_callbacks):
    album = alice_client.post("/api/v1/albums", {"name": "Group"}, content_type="application/json").json()
    multiface = (albums_dir / "friends" / "multiface.jpg").read_bytes()
    answer = upload(alice_client, album["id"], [("multiface.jpg", multiface), ("again.jpg", multiface),
                                                ("notes.jpg", b"not an image at all")], django_capture_on_commit_callbacks)
    assert answer.status_code == 200
    added, again, refused = answer.json()["results"]
    assert added["status"] == "added" and again["status"] == "duplicate" and again["photo_id"] == added["photo_id"]
    assert refused["status"] == "rejected" and refused["message"] and refused["photo_id"] is None
    assert alice_client.get(f"/api/v1/albums/{album['id']}/progress").json() == {
        "total": 1, "queued": 0, "done": 1, "failed": 0, "percent": 100, "complete": True}

    photo = alice_client.get(f"/api/v1/photos/{added['photo_id']}").json()
    assert photo["status"] == "done" and (photo["width"], photo["height"]) == (1200, 630)
    assert len(photo["faces"]) == 6 and [f["box"][0] for f in photo["faces"]] == sorted(f["box"][0] for f in photo["faces"])
    assert photo["file_url"].endswith(f"/photos/{photo['id']}/file/")
    assert alice_client.get(f"/api/v1/photos/{photo['id']}/faces").json() == photo["faces"]
    listed = alice_client.get("/api/v1/photos", {"album": album["id"]}).json()
    assert listed["count"] == 1 and listed["results"][0]["faces"] == 6 and listed["people"] == []

    nothing = alice_client.post(f"/api/v1/albums/{album['id']}/photos")
    assert nothing.status_code == 400 and "No files" in nothing.json()["error"]
    with django_capture_on_commit_callbacks(execute=True):
        assert alice_client.delete(f"/api/v1/photos/{photo['id']}").json() == {"deleted": photo["id"]}
    assert alice_client.get(f"/api/v1/photos/{photo['id']}").status_code == 404


@pytest.fixture
def folder(tmp_path, settings, albums_dir):
    allowed = tmp_path / "allowed"
    folder = allowed / "family"
    folder.mkdir(parents=True)
    shutil.copy(albums_dir / "friends" / "paul_rudd.jpg", folder / "paul.jpg")
    shutil.copy(albums_dir / "bbt" / "bbt2.jpg", folder / "bbt2.jpg")
    (folder / "notes.jpg").write_text("a text file with a photo's name")
    settings.VISAGE_LIBRARY_ROOTS = [str(allowed)]
    return folder


def fingerprint(folder) -> dict:
    """Every file of the folder with its bytes' hash and its modification time."""
    return {str(path.relative_to(folder)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


def test_a_library_is_added_scanned_rescanned_and_removed_without_touching_its_files(
        alice_client, user, folder, albums_dir, django_capture_on_commit_callbacks):
    before = fingerprint(folder)
    outside = alice_client.post("/api/v1/libraries", {"folder": str(folder.parent.parent)}, content_type="application/json")
    assert outside.status_code == 400 and "not inside a folder allowed for libraries" in outside.json()["error"]
    with django_capture_on_commit_callbacks(execute=True):
        made = alice_client.post("/api/v1/libraries", {"folder": str(folder)}, content_type="application/json")
    assert made.status_code == 201
    library = alice_client.get(f"/api/v1/libraries/{made.json()['id']}").json()
    assert library["root"] == str(folder.resolve()) and library["photo_count"] == 2
    scan = library["scan"]
    assert scan["status"] == "done" and not scan["active"] and scan["added"] == 2
    assert scan["errors"] == [{"path": "notes.jpg", "reason": scan["errors"][0]["reason"]}] and "image" in scan["errors"][0]["reason"]
    assert library["progress"]["done"] == 2 and library["progress"]["complete"]
    assert alice_client.get("/api/v1/libraries").json()["count"] == 1
    assert alice_client.get(f"/api/v1/libraries/{library['id']}/scan").json() == scan

    refused = alice_client.post(f"/api/v1/albums/{library['album_id']}/photos",
                                {"files": [SimpleUploadedFile("paul.jpg", (folder / "paul.jpg").read_bytes())]})
    assert refused.json()["results"][0]["status"] == "rejected"
    in_library = alice_client.get("/api/v1/photos", {"library": library["id"]}).json()
    assert in_library["count"] == 2
    assert alice_client.delete(f"/api/v1/photos/{in_library['results'][0]['id']}").status_code == 409
    assert alice_client.delete(f"/api/v1/albums/{library['album_id']}").status_code == 400

    shutil.copy(albums_dir / "friends" / "kate_siegel.jpg", folder / "kate.jpg")
    before = fingerprint(folder)
    with django_capture_on_commit_callbacks(execute=True):
        rescan = alice_client.post(f"/api/v1/libraries/{library['id']}/rescan")
    assert rescan.status_code == 202
    assert alice_client.get(f"/api/v1/libraries/{library['id']}/scan").json()["added"] == 1
    photo = Photo.objects.get(library_id=library["id"], relative_path="paul.jpg")
    faces_name(owner=user, face_ids=list(photo.faces.values_list("pk", flat=True)), name="Paul")

    removed = alice_client.delete(f"/api/v1/libraries/{library['id']}")
    assert removed.status_code == 200 and removed.json() == {"deleted": library["id"], "photos": 3}
    assert not Library.objects.exists() and not Photo.objects.exists() and not Face.objects.exists()
    assert not LibraryScan.objects.exists() and not Album.objects.exists()
    assert fingerprint(folder) == before  # every file still there, unchanged
    assert alice_client.get(f"/api/v1/libraries/{library['id']}").status_code == 404


def test_a_library_is_not_removed_while_it_is_scanned(alice_client, user, folder):
    from webapp.photos.libraries import library_create

    library = library_create(owner=user, folder=str(folder))  # its scan stays queued: no commit, no task
    answer = alice_client.delete(f"/api/v1/libraries/{library.pk}")
    assert answer.status_code == 400 and "scan of this library is running" in answer.json()["error"]
    assert Library.objects.filter(pk=library.pk).exists()

"""External libraries on real album photos copied into a temporary folder: indexed in place
(nothing copied, the originals untouched), rescans that add, re-process, follow moves and
mark missing files without losing a confirmed name, per-file errors, confinement of paths
to the allowed roots, and one user's library invisible to another."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image, ImageDraw

from webapp.faces.models import Face, KeptName
from webapp.people.services import faces_name
from webapp.photos.libraries import LibraryError, library_create, scan_execute, scan_start
from webapp.photos.models import Library, Photo
from webapp.photos.originals import OutsideLibrary, photo_open

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def roots(tmp_path, settings) -> Path:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    settings.VISAGE_LIBRARY_ROOTS = [str(allowed)]
    return allowed


@pytest.fixture
def folder(roots, albums_dir) -> Path:
    """Two single-face portraits and a photo of three faces, one of them in a sub-folder."""
    folder = roots / "family"
    (folder / "2024").mkdir(parents=True)
    shutil.copy(albums_dir / "friends" / "paul_rudd.jpg", folder / "paul.jpg")
    shutil.copy(albums_dir / "friends" / "kate_siegel.jpg", folder / "2024" / "kate.jpg")
    shutil.copy(albums_dir / "bbt" / "bbt2.jpg", folder / "bbt2.jpg")
    return folder


def add(user, folder, capture) -> Library:
    with capture(execute=True):  # the scan, then the processing it queues, run here (eager Celery)
        return library_create(owner=user, folder=str(folder))


def rescan(library, capture):
    with capture(execute=True):
        scan = scan_execute(scan_id=scan_start(library=library, queue=False).pk)
    scan.refresh_from_db()
    return scan


def photo_at(library, relative: str) -> Photo:
    return Photo.objects.get(library=library, relative_path=relative)


def people_shown(client) -> dict[str, int]:
    """The people page's tiles: name -> number of faces shown (a named person keeps a tile)."""
    return {person.name: person.face_count for person in client.get(reverse("people-list")).context["people"]}


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def test_a_library_is_indexed_in_place_and_processed(user, folder, media_root, django_capture_on_commit_callbacks, alice_client):
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files_under(folder)}

    library = add(user, folder, django_capture_on_commit_callbacks)

    photos = {p.relative_path: p for p in library.photos.all()}
    assert sorted(photos) == ["2024/kate.jpg", "bbt2.jpg", "paul.jpg"]
    assert all(p.status == Photo.Status.DONE and not p.file and p.album_id == library.album_id for p in photos.values())
    assert Face.objects.filter(photo=photos["bbt2.jpg"]).count() == 3
    assert Face.objects.filter(photo=photos["paul.jpg"]).count() == 1
    assert files_under(media_root) == []  # no copy: thumbnails and crops live in the database
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files_under(folder)} == before
    response = alice_client.get(reverse("photo-file", args=[photos["paul.jpg"].pk]))
    assert b"".join(response.streaming_content) == (folder / "paul.jpg").read_bytes()
    assert library.scans.get().message == "3 added"


def test_rescan_adds_reprocesses_follows_moves_and_keeps_names_of_missing_files(
    user, folder, albums_dir, django_capture_on_commit_callbacks, alice_client
):
    capture = django_capture_on_commit_callbacks
    library = add(user, folder, capture)
    bbt2, paul = photo_at(library, "bbt2.jpg"), photo_at(library, "paul.jpg")
    leftmost = Face.objects.filter(photo=bbt2).order_by("box_x0").first()
    faces_name(owner=user, face_ids=[leftmost.pk], name="Leonard")
    [paul_face] = Face.objects.filter(photo=paul)
    faces_name(owner=user, face_ids=[paul_face.pk], name="Paul")
    assert people_shown(alice_client) == {"Paul": 1, "Leonard": 1}

    unchanged = rescan(library, capture)
    assert (unchanged.unchanged, unchanged.added, unchanged.changed) == (3, 0, 0)

    # A new file, a retouched one (a black corner, far from the faces) and a renamed one.
    shutil.copy(albums_dir / "friends" / "shea_whigham.jpg", folder / "2024" / "shea.jpg")
    image = Image.open(folder / "bbt2.jpg")
    ImageDraw.Draw(image).rectangle((0, image.height - 20, 20, image.height), fill="black")
    image.save(folder / "bbt2.jpg", quality=92)
    (folder / "moved").mkdir()
    (folder / "paul.jpg").rename(folder / "moved" / "paul renamed.jpg")
    scan = rescan(library, capture)

    assert (scan.added, scan.changed, scan.moved, scan.vanished, scan.unchanged) == (1, 1, 1, 0, 1)
    assert photo_at(library, "2024/shea.jpg").faces.count() == 1
    bbt2.refresh_from_db()
    assert bbt2.status == Photo.Status.DONE and bbt2.faces.count() == 3
    assert not Face.objects.filter(pk=leftmost.pk).exists()  # re-detected: new face rows ...
    again = bbt2.faces.order_by("box_x0").first()
    assert (again.person.name, again.person_state) == ("Leonard", Face.PersonState.CONFIRMED)  # ... the name kept
    assert bbt2.faces.filter(person__isnull=False).count() == 1
    moved = Photo.objects.get(pk=paul.pk)
    assert moved.relative_path == "moved/paul renamed.jpg" and not moved.missing
    assert list(moved.faces.values_list("pk", "person__name")) == [(paul_face.pk, "Paul")]  # same face row

    # Deleted: marked missing, its face leaves the people views; back: the name returns.
    kept_bytes = (folder / "moved" / "paul renamed.jpg").read_bytes()
    (folder / "moved" / "paul renamed.jpg").unlink()
    scan = rescan(library, capture)
    assert scan.vanished == 1
    moved.refresh_from_db()
    assert moved.missing and moved.faces.count() == 0
    assert KeptName.objects.filter(photo=moved, person__name="Paul").count() == 1
    assert people_shown(alice_client) == {"Paul": 0, "Leonard": 1}
    paul_person = KeptName.objects.get(photo=moved).person
    assert list(alice_client.get(reverse("person-detail", args=[paul_person.pk])).context["page"]) == []
    assert alice_client.get(reverse("photo-file", args=[moved.pk])).status_code == 404
    assert "File missing" in alice_client.get(reverse("album-detail", args=[library.album_id])).content.decode()
    assert rescan(library, capture).vanished == 0  # still gone: nothing more to do

    (folder / "moved" / "paul renamed.jpg").write_bytes(kept_bytes)
    scan = rescan(library, capture)
    assert scan.returned == 1
    moved.refresh_from_db()
    assert not moved.missing and moved.status == Photo.Status.DONE
    [back] = moved.faces.all()
    assert (back.person.name, back.person_state) == ("Paul", Face.PersonState.CONFIRMED)
    assert not KeptName.objects.exists()
    assert people_shown(alice_client) == {"Paul": 1, "Leonard": 1}


def test_a_missing_file_that_returns_under_another_name_keeps_its_name(user, folder, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    library = add(user, folder, capture)
    kate = photo_at(library, "2024/kate.jpg")
    faces_name(owner=user, face_ids=list(kate.faces.values_list("pk", flat=True)), name="Kate")
    data = (folder / "2024" / "kate.jpg").read_bytes()
    (folder / "2024" / "kate.jpg").unlink()
    assert rescan(library, capture).vanished == 1

    (folder / "kate again.jpg").write_bytes(data)
    scan = rescan(library, capture)
    assert (scan.moved, scan.added) == (1, 0)
    kate.refresh_from_db()
    assert kate.relative_path == "kate again.jpg" and not kate.missing
    assert list(kate.faces.values_list("person__name", flat=True)) == ["Kate"]


def test_files_that_cannot_be_taken_are_listed_and_the_rest_is_indexed(user, folder, django_capture_on_commit_callbacks, alice_client):
    (folder / "notes.jpg").write_text("this is a text file, not a photo")
    (folder / "gone.jpg").symlink_to(folder / "nowhere.jpg")
    locked = folder / "locked.jpg"
    shutil.copy(folder / "paul.jpg", locked)
    locked.chmod(0)
    (folder / "readme.txt").write_text("not an image name: not looked at")
    try:
        library = add(user, folder, django_capture_on_commit_callbacks)
    finally:
        locked.chmod(0o644)

    scan = library.scans.get()
    reasons = {e["path"]: e["reason"] for e in scan.errors}
    assert reasons["notes.jpg"] == "not an image: expected JPEG, PNG, WebP or HEIC"
    assert reasons["gone.jpg"] == "unreadable: it vanished, or is a link to nothing"
    if os.geteuid() != 0:
        assert reasons["locked.jpg"] == "permission denied"
    else:  # root reads a mode-000 file (CI runs as root): then it is simply a photo
        assert photo_at(library, "locked.jpg").status == Photo.Status.DONE
    assert "readme.txt" not in reasons
    taken = {"2024/kate.jpg", "bbt2.jpg", "paul.jpg"} | ({"locked.jpg"} if os.geteuid() == 0 else set())
    assert set(library.photos.filter(status=Photo.Status.DONE).values_list("relative_path", flat=True)) == taken
    page = alice_client.get(reverse("library-detail", args=[library.pk])).content.decode()
    assert "notes.jpg" in page and "not an image: expected JPEG" in page


def test_paths_cannot_leave_the_allowed_roots(user, roots, folder, tmp_path, albums_dir, django_capture_on_commit_callbacks):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(albums_dir / "friends" / "angelina_jolie.jpg", outside / "secret.jpg")
    (folder / "escape.jpg").symlink_to(outside / "secret.jpg")
    (folder / "escape-folder").symlink_to(outside, target_is_directory=True)
    (folder / "inside-link.jpg").symlink_to(folder / "paul.jpg")
    (roots / "link-out").symlink_to(outside, target_is_directory=True)

    for requested in (f"{folder}/../../outside", str(roots / "link-out"), "family", str(outside)):
        with pytest.raises(LibraryError):
            library_create(owner=user, folder=requested)
    with pytest.raises(LibraryError, match="not a folder"):
        library_create(owner=user, folder=str(roots / "no-such-folder"))
    assert not Library.objects.exists()

    library = add(user, folder, django_capture_on_commit_callbacks)
    reasons = {e["path"]: e["reason"] for e in library.scans.get().errors}
    assert reasons == {"escape.jpg": "a link that leads outside the library's folder"}
    paths = set(library.photos.values_list("relative_path", flat=True))
    assert "inside-link.jpg" in paths and not any(p.startswith("escape") for p in paths)

    # A row that somehow names a path outside (a link swapped in after the scan) is not opened.
    photo = photo_at(library, "inside-link.jpg")
    (folder / "inside-link.jpg").unlink()
    (folder / "inside-link.jpg").symlink_to(outside / "secret.jpg")
    with pytest.raises(OutsideLibrary):
        photo_open(photo)
    photo.relative_path = "../../outside/secret.jpg"
    with pytest.raises(OutsideLibrary):
        photo_open(photo)


def test_another_users_library_answers_404(user, other_user, folder, client, django_capture_on_commit_callbacks):
    library = add(user, folder, django_capture_on_commit_callbacks)
    client.force_login(other_user)
    for name in ("library-detail", "library-scan-progress"):
        assert client.get(reverse(name, args=[library.pk])).status_code == 404
    assert client.post(reverse("library-rescan", args=[library.pk])).status_code == 404
    assert client.get(reverse("album-detail", args=[library.album_id])).status_code == 404
    assert str(folder) not in client.get(reverse("library-list")).content.decode()
    assert library.scans.count() == 1


def test_the_page_refuses_a_folder_outside_the_roots_and_the_album_takes_no_uploads(
    alice_client, user, folder, tmp_path, django_capture_on_commit_callbacks
):
    response = alice_client.post(reverse("library-list"), {"folder": str(tmp_path)})
    assert response.status_code == 400
    assert "is not inside a folder allowed for libraries" in response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("library-list"), {"folder": str(folder)})
    library = Library.objects.get(owner=user)
    assert response.url == reverse("library-detail", args=[library.pk])
    page = alice_client.get(response.url).content.decode()
    assert "Last scan" in page and "3 added" in page and "All 3 photos processed" in page

    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("extra.jpg", (folder / "paul.jpg").read_bytes())
    result = alice_client.post(reverse("album-upload", args=[library.album_id]), {"files": [upload]}, HTTP_ACCEPT="application/json")
    assert result.json()["results"][0]["status"] == "rejected"
    assert library.photos.count() == 3
    photo = photo_at(library, "paul.jpg")
    assert alice_client.post(reverse("photo-delete", args=[photo.pk]), HTTP_ACCEPT="application/json").status_code == 409
    assert (folder / "paul.jpg").exists() and Photo.objects.filter(pk=photo.pk).exists()


def test_the_command_rescans_and_prints_what_it_found(user, folder, albums_dir, django_capture_on_commit_callbacks, capsys):
    library = add(user, folder, django_capture_on_commit_callbacks)
    shutil.copy(albums_dir / "friends" / "shea_whigham.jpg", folder / "shea.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("library_rescan", user="alice")
    out, err = capsys.readouterr()
    assert f"{folder}: 1 added, 3 unchanged, 1 not taken" in out
    assert "broken.jpg: corrupt JPEG file" in err
    assert photo_at(library, "shea.jpg").status == Photo.Status.DONE


def test_beat_rescans_every_library_one_scan_at_a_time(user, folder, django_capture_on_commit_callbacks, settings):
    from webapp.core.broker import _task
    from webapp.photos.tasks import libraries_rescan

    entry = settings.CELERY_BEAT_SCHEDULE["libraries-rescan"]
    assert _task(entry["task"]).name == libraries_rescan.name  # a registered task, by that name
    assert entry["schedule"] == settings.VISAGE_LIBRARY_RESCAN_S
    library = add(user, folder, django_capture_on_commit_callbacks)
    assert libraries_rescan() == 1
    assert libraries_rescan() == 1  # the open scan is the one: no second scan piles up
    assert list(library.scans.values_list("status", flat=True)) == ["queued", "done"]


def test_the_page_shows_a_running_scans_progress_and_polls(alice_client, user, folder, django_capture_on_commit_callbacks):
    from django.utils import timezone

    library = add(user, folder, django_capture_on_commit_callbacks)
    scan = scan_start(library=library, queue=False)
    scan.status, scan.heartbeat_at, scan.progress_done, scan.progress_total = "running", timezone.now(), 40, 100
    scan.save()
    html = alice_client.get(reverse("library-scan-progress", args=[library.pk])).content.decode()
    assert "Scanning: 40 of 100 files" in html and 'aria-valuenow="40"' in html
    assert f'hx-get="{reverse("library-scan-progress", args=[library.pk])}"' in html


def test_a_file_unreadable_while_it_is_processed_again_loses_no_name(user, folder, django_capture_on_commit_callbacks):
    from webapp.faces.services import photo_process

    library = add(user, folder, django_capture_on_commit_callbacks)
    paul = photo_at(library, "paul.jpg")
    faces_name(owner=user, face_ids=list(paul.faces.values_list("pk", flat=True)), name="Paul")
    data = (folder / "paul.jpg").read_bytes()
    Photo.objects.filter(pk=paul.pk).update(status=Photo.Status.QUEUED)  # as a scan queues a changed file
    (folder / "paul.jpg").unlink()  # ... and the disk goes away before the worker reads it

    assert paul.pk in photo_process(photo_ids=[paul.pk]).failed
    assert paul.faces.count() == 0

    (folder / "paul.jpg").write_bytes(data)
    Photo.objects.filter(pk=paul.pk).update(status=Photo.Status.QUEUED)
    assert photo_process(photo_ids=[paul.pk]).done == [paul.pk]
    assert list(paul.faces.values_list("person__name", "person_state")) == [("Paul", Face.PersonState.CONFIRMED)]


def test_a_merge_while_a_file_is_missing_gives_the_merged_person_back_when_it_returns(
    user, folder, django_capture_on_commit_callbacks
):
    from webapp.people.services import person_merge

    capture = django_capture_on_commit_callbacks
    library = add(user, folder, capture)
    paul, kate = photo_at(library, "paul.jpg"), photo_at(library, "2024/kate.jpg")
    source = faces_name(owner=user, face_ids=list(paul.faces.values_list("pk", flat=True)), name="Paul")
    target = faces_name(owner=user, face_ids=list(kate.faces.values_list("pk", flat=True)), name="Friends")
    data = (folder / "paul.jpg").read_bytes()
    (folder / "paul.jpg").unlink()
    assert rescan(library, capture).vanished == 1

    person_merge(owner=user, source_id=source.pk, target_id=target.pk)
    (folder / "paul.jpg").write_bytes(data)
    assert rescan(library, capture).returned == 1
    assert list(paul.faces.values_list("person_id", "person_state")) == [(target.pk, Face.PersonState.CONFIRMED)]

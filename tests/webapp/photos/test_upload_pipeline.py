"""Upload through the Django test client -> Photo rows -> processing task -> Face rows."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tests.samples import heic_from, landscape_jpeg, png_bomb, truncated_jpeg, zip_of
from webapp.faces.models import Face
from webapp.photos.models import Album, Photo
from webapp.photos.services import album_create

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def album(user) -> Album:
    return album_create(owner=user, name="Holidays")


def upload(client, album, files: list[tuple[str, bytes]], capture):
    payload = [SimpleUploadedFile(name, data) for name, data in files]
    with capture(execute=True):
        response = client.post(
            reverse("album-upload", args=[album.pk]), {"files": payload}, HTTP_ACCEPT="application/json"
        )
    return response


def test_multiface_photo_gives_six_unit_norm_faces(alice_client, album, albums_dir, django_capture_on_commit_callbacks):
    data = (albums_dir / "friends" / "multiface.jpg").read_bytes()
    response = upload(alice_client, album, [("multiface.jpg", data)], django_capture_on_commit_callbacks)

    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["status"] == "added"
    photo = Photo.objects.get(pk=result["photo_id"])
    assert photo.status == Photo.Status.DONE
    assert (photo.width, photo.height) == (1200, 630)
    faces = list(photo.faces.all())
    assert len(faces) == 6
    for face in faces:
        vector = np.asarray(face.embedding)
        assert vector.shape == (128,)
        assert abs(np.linalg.norm(vector) - 1.0) < 1e-4
        assert 0 <= face.box_x0 < face.box_x1 <= 1200 and 0 <= face.box_y0 < face.box_y1 <= 630
        assert Image.open(io.BytesIO(bytes(face.thumbnail))).format == "JPEG"
    assert Image.open(io.BytesIO(bytes(photo.thumbnail))).size[0] <= 480


def test_face_counts_of_group_photos(alice_client, album, albums_dir, expected_face_counts, django_capture_on_commit_callbacks):
    files = [(name, (albums_dir / name).read_bytes()) for name in expected_face_counts]
    response = upload(alice_client, album, files, django_capture_on_commit_callbacks)

    # Django keeps only the base name of an uploaded file.
    by_name = {r["name"]: r for r in response.json()["results"]}
    found = {
        name: Face.objects.filter(photo_id=by_name[name.rsplit("/", 1)[-1]]["photo_id"]).count()
        for name in expected_face_counts
    }
    assert found == expected_face_counts


def test_processing_twice_leaves_identical_faces(user, album, albums_dir):
    from webapp.faces.services import photo_process
    from webapp.photos.services import photo_ingest

    with (albums_dir / "bbt" / "bbt3.jpg").open("rb") as handle:
        outcome = photo_ingest(owner=user, album=album, source=handle, original_name="bbt3.jpg")
    photo_process(photo_ids=[outcome.photo_id])
    first = list(Face.objects.filter(photo_id=outcome.photo_id).order_by("box_x0").values_list("box_x0", "box_y0", "embedding"))

    again = photo_process(photo_ids=[outcome.photo_id])
    assert again.skipped == [outcome.photo_id]  # a redelivered task does no work
    photo_process(photo_ids=[outcome.photo_id], force=True)
    second = list(Face.objects.filter(photo_id=outcome.photo_id).order_by("box_x0").values_list("box_x0", "box_y0", "embedding"))

    assert len(second) == len(first) == 5
    for (x1, y1, e1), (x2, y2, e2) in zip(first, second):
        assert (x1, y1) == (x2, y2)
        np.testing.assert_array_equal(np.asarray(e1), np.asarray(e2))


def test_same_person_closer_than_different_person(user, album, albums_dir):
    from webapp.faces.services import photo_process
    from webapp.photos.services import photo_ingest

    paths = {
        "obama1": albums_dir / "obama_biden/train/obama/obama.jpg",
        "obama2": albums_dir / "obama_biden/train/obama/obama2.jpg",
        "biden": albums_dir / "obama_biden/train/biden/biden.jpg",
    }
    ids = {}
    for key, path in paths.items():
        with path.open("rb") as handle:
            ids[key] = photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id
    photo_process(photo_ids=list(ids.values()))
    vectors = {}
    for key, photo_id in ids.items():
        faces = list(Face.objects.filter(photo_id=photo_id))
        assert len(faces) == 1, key
        vectors[key] = np.asarray(faces[0].embedding)
    same = 1 - vectors["obama1"] @ vectors["obama2"]
    different = min(1 - vectors["obama1"] @ vectors["biden"], 1 - vectors["obama2"] @ vectors["biden"])
    assert same < different


def test_bad_files_are_refused_with_reasons_and_the_rest_processed(
    alice_client, album, albums_dir, django_capture_on_commit_callbacks
):
    good = (albums_dir / "bbt" / "bbt1.jpg").read_bytes()
    files = [
        ("good.jpg", good),
        ("notes.jpg", b"this is a text file, not a photo\n" * 10),
        ("broken.jpg", truncated_jpeg(albums_dir / "bbt" / "bbt4.jpg")),
        ("bomb.png", png_bomb()),
        ("again.jpg", good),
        ("landscape.jpg", landscape_jpeg()),
        ("phone.heic", heic_from(albums_dir / "bbt" / "bbt5.jpg")),
        ("empty.jpg", b""),
    ]
    response = upload(alice_client, album, files, django_capture_on_commit_callbacks)
    results = {r["name"]: r for r in response.json()["results"]}

    assert results["good.jpg"]["status"] == "added"
    assert results["notes.jpg"]["status"] == "rejected" and "not an image" in results["notes.jpg"]["message"]
    assert results["bomb.png"]["status"] == "rejected" and "30000x30000" in results["bomb.png"]["message"]
    assert results["again.jpg"]["status"] == "duplicate"
    assert results["again.jpg"]["photo_id"] == results["good.jpg"]["photo_id"]
    assert results["empty.jpg"]["status"] == "rejected" and "empty" in results["empty.jpg"]["message"]
    # Nothing was stored for refused files.
    assert Photo.objects.filter(album=album).count() == 4

    def photo(name):
        return Photo.objects.get(pk=results[name]["photo_id"])

    assert photo("good.jpg").status == Photo.Status.DONE and photo("good.jpg").faces.count() == 4
    # A truncated JPEG passes the header check, then fails decoding: failed, with no faces.
    broken = photo("broken.jpg")
    assert broken.status == Photo.Status.FAILED
    assert "truncated" in broken.error or "corrupt" in broken.error
    assert broken.faces.count() == 0
    assert photo("landscape.jpg").status == Photo.Status.DONE and photo("landscape.jpg").faces.count() == 0
    heic = photo("phone.heic")
    assert heic.image_format in {"heic", "heif"} and heic.status == Photo.Status.DONE
    assert heic.faces.count() == 5


def test_zip_upload_takes_images_and_refuses_unsafe_entries(
    alice_client, album, albums_dir, django_capture_on_commit_callbacks
):
    archive = zip_of(
        {
            "trip/bbt2.jpg": (albums_dir / "bbt" / "bbt2.jpg").read_bytes(),
            "trip/bbt3.jpg": (albums_dir / "bbt" / "bbt3.jpg").read_bytes(),
            "../../etc/evil.jpg": (albums_dir / "bbt" / "bbt1.jpg").read_bytes(),
            "inner.zip": zip_of({"x.jpg": b"123"}),
            "readme.txt": b"hello",
            "__MACOSX/._bbt2.jpg": b"\x00\x05\x16\x07",
        }
    )
    response = upload(alice_client, album, [("photos.zip", archive)], django_capture_on_commit_callbacks)
    results = {r["name"]: r for r in response.json()["results"]}

    assert results["photos.zip: trip/bbt2.jpg"]["status"] == "added"
    assert results["photos.zip: trip/bbt3.jpg"]["status"] == "added"
    assert "unsafe path" in results["photos.zip: ../../etc/evil.jpg"]["message"]
    assert "archives inside archives" in results["photos.zip: inner.zip"]["message"]
    assert "not an image" in results["photos.zip: readme.txt"]["message"]
    assert len(results) == 5  # macOS metadata is skipped silently
    assert set(Photo.objects.filter(album=album).values_list("original_name", flat=True)) == {"bbt2.jpg", "bbt3.jpg"}
    assert Face.objects.filter(photo__album=album).count() == 3 + 5


def test_corrupt_zip_is_refused_whole(alice_client, album, django_capture_on_commit_callbacks):
    response = upload(alice_client, album, [("photos.zip", b"PK\x03\x04 not really a zip")], django_capture_on_commit_callbacks)
    [result] = response.json()["results"]
    assert result["status"] == "rejected" and "not a valid .zip" in result["message"]
    assert Photo.objects.count() == 0


def test_empty_upload_is_a_clear_error(alice_client, album):
    response = alice_client.post(reverse("album-upload", args=[album.pk]), {}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "No files in the upload."


def test_oversized_file_is_dropped_while_streaming(alice_client, album, albums_dir, settings, django_capture_on_commit_callbacks):
    settings.VISAGE_MAX_UPLOAD_FILE_BYTES = 200_000
    small = (albums_dir / "bbt" / "bbt3.jpg").read_bytes()
    big = (albums_dir / "friends" / "angelina_jolie.jpg").read_bytes()
    assert len(small) < 200_000 < len(big)
    response = upload(alice_client, album, [("big.jpg", big), ("small.jpg", small)], django_capture_on_commit_callbacks)
    results = {r["name"]: r for r in response.json()["results"]}
    assert results["big.jpg"]["status"] == "rejected" and "too large" in results["big.jpg"]["message"]
    assert results["small.jpg"]["status"] == "added"

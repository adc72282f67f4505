"""Photos on an S3-compatible store: a real moto server process on loopback, reached by
the app through django-storages and checked from outside with a plain boto3 client."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from webapp.embedded import free_tcp_port
from webapp.faces.models import Face
from webapp.photos.models import Photo
from webapp.photos.services import album_create, photo_ingest
from webapp.photos.storage import PrivateS3Storage

ROOT = Path(__file__).resolve().parents[3]
FILES = ["bbt/bbt1.jpg", "friends/multiface.jpg", "groups/sample2.jpg"]
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "visage-test", "AWS_SECRET_ACCESS_KEY": "visage-test-secret"}
REGION = "us-east-1"

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """URL of a moto S3 server running as its own process for this module."""
    port = free_tcp_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, region_name=REGION, **_lower(CREDENTIALS))
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_buckets()
            break
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto server did not start (see {log.name})") from None
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=10)
    log.close()


def _lower(credentials: dict) -> dict:
    return {"aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"]}


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **_lower(CREDENTIALS))


@pytest.fixture
def bucket(s3) -> str:
    name = f"visage-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def s3_storages(settings, endpoint: str, bucket: str) -> dict:
    return {
        **settings.STORAGES,
        "default": {
            "BACKEND": "webapp.photos.storage.PrivateS3Storage",
            "OPTIONS": {"bucket_name": bucket, "endpoint_url": endpoint, "region_name": REGION,
                        "default_acl": "private", "querystring_auth": True},
        },
    }


@pytest.fixture
def on_s3(settings, monkeypatch, s3_endpoint, bucket, media_root) -> str:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    settings.STORAGES = s3_storages(settings, s3_endpoint, bucket)
    return bucket


def keys(s3, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_upload_process_serve_and_delete_through_s3(
    on_s3, s3, user, other_user, client, albums_dir, expected_face_counts, media_root,
    django_capture_on_commit_callbacks,
):
    album = album_create(owner=user, name="On S3")
    originals = {name.rsplit("/", 1)[-1]: (albums_dir / name).read_bytes() for name in FILES}
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):  # upload commits, then eager processing
        response = client.post(
            reverse("album-upload", args=[album.pk]),
            {"files": [SimpleUploadedFile(name, data) for name, data in originals.items()]},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 200
    results = {r["name"]: r for r in response.json()["results"]}
    assert {r["status"] for r in results.values()} == {"added"}
    photos = {name: Photo.objects.get(pk=results[name]["photo_id"]) for name in originals}

    # Every file is an object in the bucket with the uploaded bytes, and nothing is on disk.
    assert keys(s3, on_s3) == {photo.file.name for photo in photos.values()}
    for name, photo in photos.items():
        assert s3.get_object(Bucket=on_s3, Key=photo.file.name)["Body"].read() == originals[name]
        grants = s3.get_object_acl(Bucket=on_s3, Key=photo.file.name)["Grants"]
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner alone
        assert "URI" not in grants[0]["Grantee"]  # no AllUsers / AuthenticatedUsers group
    assert [p for p in Path(media_root).rglob("*") if p.is_file()] == []

    # The worker read the photos back from the bucket and found the same faces as on disk.
    counts = {name: Face.objects.filter(photo=photos[name.rsplit("/", 1)[-1]]).count() for name in FILES}
    assert counts == {name: expected_face_counts[name] for name in FILES}
    assert all(Photo.objects.get(pk=p.pk).status == Photo.Status.DONE for p in photos.values())

    # Served by the app's own view: the bytes to the owner, 404 to anyone else.
    multiface = photos["multiface.jpg"]
    served = client.get(reverse("photo-file", args=[multiface.pk]))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == originals["multiface.jpg"]
    assert served["Cache-Control"].startswith("private")
    client.force_login(other_user)
    assert client.get(reverse("photo-file", args=[multiface.pk])).status_code == 404
    assert client.post(reverse("photo-delete", args=[multiface.pk])).status_code == 404
    assert multiface.file.name in keys(s3, on_s3)

    # Deleting removes the row, its faces and the object.
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        deleted = client.post(reverse("photo-delete", args=[multiface.pk]), HTTP_ACCEPT="application/json")
    assert deleted.json() == {"deleted": multiface.pk}
    assert not Photo.objects.filter(pk=multiface.pk).exists()
    assert not Face.objects.filter(photo_id=multiface.pk).exists()
    assert keys(s3, on_s3) == {photos[n].file.name for n in ("bbt1.jpg", "sample2.jpg")}
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=on_s3, Key=multiface.file.name)
    assert missing.value.response["Error"]["Code"] == "404"


def test_faces_on_s3_equal_faces_on_local_disk(on_s3, settings, user, other_user, albums_dir):
    from webapp.faces.services import photo_process

    def boxes(owner) -> list[tuple[float, float, float, float]]:
        album = album_create(owner=owner, name="Same photo")
        with (albums_dir / "bbt" / "bbt3.jpg").open("rb") as handle:
            outcome = photo_ingest(owner=owner, album=album, source=handle, original_name="bbt3.jpg")
        photo_process(photo_ids=[outcome.photo_id])
        return list(Face.objects.filter(photo_id=outcome.photo_id).order_by("box_x0")
                    .values_list("box_x0", "box_y0", "box_x1", "box_y1"))

    on_bucket = boxes(user)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    on_disk = boxes(other_user)
    assert len(on_bucket) == 5
    assert on_bucket == on_disk


def test_a_failing_store_refuses_the_upload_with_a_reason(on_s3, settings, s3_endpoint, user, albums_dir):
    settings.STORAGES = s3_storages(settings, s3_endpoint, "no-such-bucket")
    album = album_create(owner=user, name="Broken store")
    with (albums_dir / "bbt" / "bbt1.jpg").open("rb") as handle:
        outcome = photo_ingest(owner=user, album=album, source=handle, original_name="bbt1.jpg")
    assert outcome.status == "rejected"
    assert "could not store the file" in outcome.message
    assert not Photo.objects.filter(owner=user).exists()


def test_missing_object_is_a_404_not_a_crash(on_s3, s3, alice_client, user, albums_dir):
    album = album_create(owner=user, name="Lost")
    with (albums_dir / "bbt" / "bbt1.jpg").open("rb") as handle:
        outcome = photo_ingest(owner=user, album=album, source=handle, original_name="bbt1.jpg")
    s3.delete_object(Bucket=on_s3, Key=Photo.objects.get(pk=outcome.photo_id).file.name)
    assert alice_client.get(reverse("photo-file", args=[outcome.photo_id])).status_code == 404


@pytest.mark.parametrize("options", [{"default_acl": "public-read"}, {"querystring_auth": False},
                                     {"custom_domain": "cdn.example.org"}])
def test_public_object_settings_are_refused(options):
    with pytest.raises(ImproperlyConfigured):
        PrivateS3Storage(bucket_name="photos", **options)


def settings_in_subprocess(env: dict, code: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VISAGE_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**clean, "DJANGO_SETTINGS_MODULE": "webapp.settings",
             "DATABASE_URL": "postgresql://unused@localhost/unused", **env},
    )


def test_environment_selects_the_private_bucket(s3_endpoint, s3, bucket):
    env = {"VISAGE_STORAGE": "s3", "VISAGE_S3_BUCKET": bucket, "VISAGE_S3_ENDPOINT_URL": s3_endpoint,
           "VISAGE_S3_REGION": REGION, "VISAGE_S3_PREFIX": "media", **CREDENTIALS}
    code = ("from django.core.files.base import ContentFile; "
            "from django.core.files.storage import default_storage as s; "
            "name = s.save('probe/hello.txt', ContentFile(b'hello')); print(name); print(s.url(name))")
    result = settings_in_subprocess(env, code)
    assert result.returncode == 0, result.stderr
    name, url = result.stdout.split()
    assert keys(s3, bucket) == {f"media/{name}"}
    assert s3.get_object(Bucket=bucket, Key=f"media/{name}")["Body"].read() == b"hello"
    assert "X-Amz-Signature=" in url  # signed and expiring, never a plain public URL


@pytest.mark.parametrize(("env", "message"), [
    ({"VISAGE_STORAGE": "gcs"}, "VISAGE_STORAGE must be 'local' or 's3'"),
    ({"VISAGE_STORAGE": "s3"}, "VISAGE_STORAGE=s3 needs VISAGE_S3_BUCKET"),
])
def test_bad_storage_environment_stops_with_a_clear_error(env, message):
    result = settings_in_subprocess(env, "")
    assert result.returncode != 0
    assert message in result.stderr


def test_local_disk_is_the_default():
    result = settings_in_subprocess({}, "from django.conf import settings; print(settings.STORAGES['default']['BACKEND'])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.files.storage.FileSystemStorage"

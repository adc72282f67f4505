"""A real Redis and a real Celery worker process handle an upload end to end."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from kombu import pools

from webapp.embedded import start_redis
from webapp.photos.models import Photo
from webapp.photos.services import album_create

ROOT = Path(__file__).resolve().parents[2]


pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_server(tmp_path):
    handle = start_redis(tmp_path / "redis")
    yield handle
    handle.stop()


@pytest.fixture
def worker(redis_server, media_root, eager_celery, tmp_path):
    """A worker process on the test database, the temporary media folder and the test Redis."""
    params = connection.get_connection_params()
    database_url = f"postgresql://{params['user']}@/{params['dbname']}?host={params['host']}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "VISAGE_MEDIA_ROOT": str(media_root),
        "VISAGE_TORCH_THREADS": "1",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "gpu,celery",
         "--pool=solo", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    point_app_at_broker(eager_celery, redis_server.url)
    eager_celery.conf.task_always_eager = False
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    point_app_at_broker(eager_celery, settings.CELERY_BROKER_URL)


def point_app_at_broker(app, url: str) -> None:
    # Producer pools are bound to the broker they were made for. Celery resets both of its
    # pools (connections and producers) after a fork; do the same so the next send
    # connects to ``url``. kombu also keeps one producer pool per broker URL for the whole
    # process, still holding the connection pool closed here: drop those too, or the next
    # send to a URL used before fails with "Acquire on closed pool".
    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
    app._after_fork()
    pools.reset()


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_uploaded_photo_is_processed_by_a_real_worker(worker, client, user, albums_dir, tmp_path):
    client.force_login(user)
    album = album_create(owner=user, name="Cast")
    data = (albums_dir / "bbt" / "bbt3.jpg").read_bytes()

    response = client.post(
        reverse("album-upload", args=[album.pk]),
        {"files": [SimpleUploadedFile("bbt3.jpg", data)]},
        HTTP_ACCEPT="application/json",
    )
    [result] = response.json()["results"]
    assert result["status"] == "added"
    photo = Photo.objects.get(pk=result["photo_id"])
    assert photo.status == Photo.Status.QUEUED

    def processed() -> bool:
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
        photo.refresh_from_db()
        return photo.status != Photo.Status.QUEUED

    wait_for(processed, timeout=180, what="the worker to process the photo")
    assert photo.status == Photo.Status.DONE, photo.error
    assert photo.faces.count() == 5

    progress = client.get(reverse("album-progress", args=[album.pk]))
    assert b"All 1 photo processed" in progress.content


def test_upload_while_the_broker_is_down_is_stored_and_stays_queued(client, user, albums_dir, eager_celery):
    from webapp.embedded import free_tcp_port

    point_app_at_broker(eager_celery, f"redis://127.0.0.1:{free_tcp_port()}/0")  # nothing listens there
    eager_celery.conf.task_always_eager = False
    try:
        client.force_login(user)
        album = album_create(owner=user, name="Offline")
        response = client.post(
            reverse("album-upload", args=[album.pk]),
            {"files": [SimpleUploadedFile("bbt3.jpg", (albums_dir / "bbt" / "bbt3.jpg").read_bytes())]},
            HTTP_ACCEPT="application/json",
        )
    finally:
        point_app_at_broker(eager_celery, settings.CELERY_BROKER_URL)
    [result] = response.json()["results"]
    assert response.status_code == 200 and result["status"] == "added"
    assert Photo.objects.get(pk=result["photo_id"]).status == Photo.Status.QUEUED

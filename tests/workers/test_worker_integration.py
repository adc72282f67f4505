"""A real Redis and a real Celery worker process handle an upload end to end."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.workers.helpers import point_app_at_broker, wait_for
from webapp.photos.models import Photo
from webapp.photos.services import album_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(workers):
    """One worker process on the test database, media folder and Redis."""
    return workers.start()


def test_uploaded_photo_is_processed_by_a_real_worker(worker, workers, client, user, albums_dir, tmp_path):
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
        workers.check_alive(worker)
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

"""Long jobs have a queue and a worker of their own: a photo uploaded while a retraining
runs is processed meanwhile, and the Face model page names the busy worker instead of
calling it absent (real Redis, real worker processes)."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import make_user
from tests.webapp.training.conftest import confirmed_library
from tests.workers.helpers import wait_for
from webapp.photos.models import Photo
from webapp.photos.services import album_create
from webapp.training.models import TrainingRun
from webapp.training.runs import training_cancel, training_start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_photos_are_processed_while_a_retraining_runs_and_the_page_says_busy(
    workers, user, client, faces_data_dir, albums_dir, training_cache_dir
):
    confirmed_library(user, faces_data_dir, characters=0, celeba_people=6)
    env = {
        "VISAGE_TRAINING_DIR": str(training_cache_dir),
        "VISAGE_RETRAIN_BASE_IMAGES": "100", "VISAGE_RETRAIN_VAL_PAIRS_EVERY": "10",
        # Far longer than the checks below: the run is cancelled once they are done.
        "VISAGE_RETRAIN_EPOCHS": "500", "VISAGE_RETRAIN_MAX_STEPS": "500",
        "VISAGE_RETRAIN_BATCH_PEOPLE": "8", "VISAGE_RETRAIN_BATCH_EXTRA": "4",
    }
    long_worker = workers.start(queues="long", pool="prefork", **env)
    photo_worker = workers.start(queues="gpu,celery", **env)
    run = training_start(user=user, owner_ids=None)

    def running() -> bool:
        workers.check_alive(long_worker)
        return TrainingRun.objects.get(pk=run.pk).status == TrainingRun.Status.RUNNING

    wait_for(running, timeout=120, what="the long worker to take the run")

    client.force_login(user)
    album = album_create(owner=user, name="Meanwhile")
    response = client.post(
        reverse("album-upload", args=[album.pk]),
        {"files": [SimpleUploadedFile("bbt3.jpg", (albums_dir / "bbt" / "bbt3.jpg").read_bytes())]},
        HTTP_ACCEPT="application/json",
    )
    photo = Photo.objects.get(pk=response.json()["results"][0]["photo_id"])

    def processed() -> bool:
        workers.check_alive(photo_worker)
        photo.refresh_from_db()
        return photo.status != Photo.Status.QUEUED

    wait_for(processed, timeout=180, what="the photo worker to process the upload")
    assert photo.status == Photo.Status.DONE and photo.faces.count() == 5
    assert TrainingRun.objects.get(pk=run.pk).is_open  # the run was still going all along

    client.force_login(make_user("admin", is_staff=True))
    page = client.get(reverse("model-page")).content.decode()
    assert "No worker is listening" not in page
    assert "worker is busy: running fault0@" in page and ": training.training_execute." in page

    training_cancel(run_id=run.pk)
    wait_for(lambda: not TrainingRun.objects.get(pk=run.pk).is_open, timeout=300, what="the run to stop")
    assert TrainingRun.objects.get(pk=run.pk).status == TrainingRun.Status.CANCELLED

"""The staff-only "Face model" page and its buttons."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_user
from webapp.faces.selectors import embedding_model_active
from webapp.training.models import ModelSwitch, TrainingRun

pytestmark = pytest.mark.django_db

ACTIONS = [
    ("model-run-start", {}),
    ("model-run-cancel", {"run_id": 1}),
    ("model-run-discard", {"run_id": 1}),
    ("model-promote", {"model_id": 1}),
    ("model-rollback", {"model_id": 1}),
    ("model-cleanup", {}),
]


def test_page_and_every_action_are_forbidden_to_non_staff(client, user):
    client.force_login(user)
    assert client.get(reverse("model-page")).status_code == 403
    assert client.get(reverse("model-jobs")).status_code == 403
    for name, kwargs in ACTIONS:
        assert client.post(reverse(name, kwargs=kwargs)).status_code == 403, name
    assert not TrainingRun.objects.exists() and not ModelSwitch.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("model-page"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_staff_sees_the_active_model_and_the_data_per_library(client, staff, user):
    client.force_login(staff)
    page = client.get(reverse("model-page")).content.decode()
    active = embedding_model_active()
    assert f"Active: v{active.version}" in page
    assert "alice" in page and "admin" in page  # one row per library
    assert "eager mode" in page  # tests run tasks in-process; a real install names its long-queue workers
    assert "No retraining yet." in page
    # What "same person" means for this version, from its calibration (not the balanced-pairs threshold).
    assert active.calibration and active.calibration["same_pairs"] == 9031
    calibrated = re.search(r"Same person below cosine distance ([0-9.]+) \(1 in 1,000 pairs of different people", page)
    assert calibrated and float(calibrated.group(1)) < active.same_person_threshold - 0.01
    assert "at most 0.3 % of the time" in page and "celeba5/val, every pair of 4525 faces" in page  # the source: celeba5 val faces


def test_a_run_shows_its_data_and_batches(client, staff):
    TrainingRun.objects.create(base_model=embedding_model_active(), status=TrainingRun.Status.FAILED, error="boom", data={
        "people": 928, "faces": 2784, "training_people": 742, "training_faces": 2226, "heldout_people": 186,
        "epochs": 12, "batch": {"p": 200, "k": 3, "extra": 40}})
    client.force_login(staff)
    page = client.get(reverse("model-page")).content.decode()
    assert "742 people / 2226 faces trained, 186 held out" in page
    assert "batches of 200 people × 3 faces + 40, 12 epochs" in page


def test_starting_without_enough_data_says_why(client, staff, faces_data_dir):
    client.force_login(staff)
    response = client.post(reverse("model-run-start"), {"owner": "all"}, follow=True)
    assert "Too little data: 0 people have at least 2 confirmed faces" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_starting_with_no_library_ticked_says_so(client, staff):
    client.force_login(staff)
    response = client.post(reverse("model-run-start"), {}, follow=True)
    assert "Choose at least one library" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_a_second_start_says_one_is_running(client, staff, faces_data_dir):
    TrainingRun.objects.create(base_model=embedding_model_active(), status=TrainingRun.Status.RUNNING, message="training",
                               progress_done=7, progress_total=10, data={"epochs": 2}, loss=0.0312, eta_seconds=42,
                               heartbeat_at=timezone.now())
    client.force_login(staff)
    response = client.post(reverse("model-run-start"), {"owner": "all"}, follow=True)
    page = response.content.decode()
    assert "one run at a time" in page
    assert "epoch 2 of 2, step 7 of 10" in page and "loss 0.0312" in page and "about 42 s left" in page
    assert TrainingRun.objects.count() == 1


def test_cancel_button_ends_a_queued_run(client, staff):
    run = TrainingRun.objects.create(base_model=embedding_model_active())
    client.force_login(staff)
    client.post(reverse("model-run-cancel", kwargs={"run_id": run.pk}))
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED and run.finished_at is not None


def test_the_django_admin_entry_leads_to_the_page(client):
    admin = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get(reverse("admin:training_trainingrun_changelist"))
    assert response.status_code == 302 and response["Location"] == reverse("model-page")


@pytest.fixture
def broker_without_workers(tmp_path, eager_celery):
    """This process sends to a real Redis that no worker consumes."""
    from tests.workers.helpers import point_app_at_broker
    from webapp.embedded import start_redis

    redis = start_redis(tmp_path / "redis")
    previous = eager_celery.conf.broker_url
    eager_celery.conf.task_always_eager = False
    point_app_at_broker(eager_celery, redis.url)
    yield redis
    point_app_at_broker(eager_celery, previous)
    eager_celery.conf.task_always_eager = True
    redis.stop()


def test_missing_long_queue_worker_is_reported(client, staff, broker_without_workers):
    """A run would wait: the page says so when nobody consumes the long queue."""
    client.force_login(staff)
    page = client.get(reverse("model-page")).content.decode()
    assert "No worker is listening on the <code>long</code> queue" in page
    assert "busy" not in page


def test_unreachable_broker_is_reported(client, staff, eager_celery):
    from tests.workers.helpers import point_app_at_broker
    from webapp.embedded import free_tcp_port

    previous = eager_celery.conf.broker_url
    eager_celery.conf.task_always_eager = False
    point_app_at_broker(eager_celery, f"redis://127.0.0.1:{free_tcp_port()}/0")
    try:
        client.force_login(staff)
        page = client.get(reverse("model-page")).content.decode()
    finally:
        point_app_at_broker(eager_celery, previous)
        eager_celery.conf.task_always_eager = True
    assert "The task queue cannot be reached" in page


def test_a_worker_inside_a_job_is_busy_not_absent(client, staff, broker_without_workers):
    """A solo worker inside a run answers no broadcast; the run's fresh heartbeat shows
    that a worker holds it. A heartbeat gone stale (its worker died) is no worker."""
    from django.utils import timezone

    run = TrainingRun.objects.create(base_model=embedding_model_active(), status=TrainingRun.Status.RUNNING,
                                     heartbeat_at=timezone.now())
    client.force_login(staff)
    page = client.get(reverse("model-page")).content.decode()
    assert f"worker is busy: running retraining run #{run.pk}." in page
    assert "No worker is listening" not in page

    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    page = client.get(reverse("model-page")).content.decode()
    assert "No worker is listening on the <code>long</code> queue" in page


def test_a_worker_that_answers_while_busy_says_what_it_runs(client, staff, monkeypatch):
    from webapp.core.broker import QueueWorkers
    from webapp.training import selectors

    answers = {"long@host1": ["training.training_execute"]}
    monkeypatch.setattr(selectors, "queue_workers", lambda queue, timeout: QueueWorkers(queue, True, answers))
    client.force_login(staff)
    page = client.get(reverse("model-page")).content.decode()
    assert "worker is busy: running long@host1: training.training_execute." in page


def stopped_at(seconds_ago: float):
    return timezone.now() - timezone.timedelta(seconds=seconds_ago)


def test_a_run_whose_worker_died_shows_as_stopped_and_cancels_at_once(client, staff, settings):
    settings.VISAGE_JOB_STALE_AFTER_S = 60
    run = TrainingRun.objects.create(base_model=embedding_model_active(), status=TrainingRun.Status.RUNNING,
                                     progress_done=3, progress_total=10, heartbeat_at=stopped_at(61))
    client.force_login(staff)
    box = client.get(reverse("model-jobs")).content.decode()
    assert "The worker stopped before the job was done" in box and "step 3 of 10" in box and "every 2s" not in box
    client.post(reverse("model-run-cancel", kwargs={"run_id": run.pk}))
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED and run.finished_at is not None


def test_a_switch_whose_worker_died_gives_way_to_a_new_one(staff, settings, django_capture_on_commit_callbacks):
    from webapp.core.jobs import STOPPED
    from webapp.faces.models import EmbeddingModel
    from webapp.training.switching import switch_start

    settings.VISAGE_JOB_STALE_AFTER_S = 60
    active = embedding_model_active()
    target = EmbeddingModel.objects.exclude(pk=active.pk).first()
    kind = ModelSwitch.Kind.ROLLBACK if target.activated_at else ModelSwitch.Kind.PROMOTE
    dead = ModelSwitch.objects.create(kind=kind, target=target, previous=active, status=ModelSwitch.Status.RUNNING,
                                      heartbeat_at=stopped_at(61))
    with django_capture_on_commit_callbacks(execute=False):
        again = switch_start(target_id=target.pk, user=staff, kind=kind)
    dead.refresh_from_db()
    assert again.pk != dead.pk and again.status == ModelSwitch.Status.QUEUED
    assert (dead.status, dead.error) == (ModelSwitch.Status.FAILED, STOPPED)

"""A worker that dies mid-grouping or mid-map (no real worker here: a claimed job whose
heartbeat stopped). The pages show the job as stopped and the user can start again at
once, instead of waiting hours for the broker's visibility timeout."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from webapp.core.jobs import STOPPED, Claim, job_claim
from webapp.people.grouping import NOT_QUEUED, grouping_start
from webapp.people.models import FaceMap, GroupingRun

pytestmark = pytest.mark.django_db


def worker_died(model_class, pk: int, seconds_ago: float) -> None:
    """Claimed by a worker whose last heartbeat was ``seconds_ago``."""
    assert job_claim(model_class, pk)[0] is Claim.TAKEN
    model_class.objects.filter(pk=pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago))


def test_grouping_can_start_again_when_the_worker_of_the_running_one_died(
    alice_client, user, faces, settings, django_capture_on_commit_callbacks
):
    settings.VISAGE_JOB_STALE_AFTER_S = 60
    with django_capture_on_commit_callbacks(execute=False):
        dead = grouping_start(owner=user)
    worker_died(GroupingRun, dead.pk, seconds_ago=30)
    assert grouping_start(owner=user) == dead  # its worker may be alive: a second start joins it

    GroupingRun.objects.filter(pk=dead.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    page = alice_client.get(reverse("people-group-progress")).content.decode()
    assert STOPPED in page and "every 2s" not in page  # shown as failed; the page stops polling

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(reverse("people-group"))
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (GroupingRun.Status.FAILED, STOPPED)
    again = GroupingRun.objects.filter(owner=user).exclude(pk=dead.pk).get()
    assert again.status == GroupingRun.Status.DONE and again.created_by == user and "group(s)" in again.message


def test_a_grouping_run_that_cannot_be_queued_fails_with_a_message(
    user, faces, settings, eager_celery, django_capture_on_commit_callbacks
):
    from tests.workers.helpers import point_app_at_broker
    from webapp.embedded import free_tcp_port

    eager_celery.conf.task_always_eager = False
    point_app_at_broker(eager_celery, f"redis://127.0.0.1:{free_tcp_port()}/0")  # nothing listens there
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = grouping_start(owner=user)
    finally:
        point_app_at_broker(eager_celery, settings.CELERY_BROKER_URL)
        eager_celery.conf.task_always_eager = True
    run.refresh_from_db()
    assert (run.status, run.error) == (GroupingRun.Status.FAILED, NOT_QUEUED)
    assert grouping_start(owner=user) != run  # the user can start again


def test_the_face_map_shows_a_dead_worker_and_computes_again_on_request(
    alice_client, user, faces, settings, django_capture_on_commit_callbacks
):
    settings.VISAGE_JOB_STALE_AFTER_S = 60
    with django_capture_on_commit_callbacks(execute=False):
        alice_client.get(reverse("face-map"))
    face_map = FaceMap.objects.get(owner=user)
    worker_died(FaceMap, face_map.pk, seconds_ago=61)

    page = alice_client.get(reverse("face-map"), HTTP_HX_REQUEST="true").content.decode()
    assert STOPPED in page and "every 2s" not in page and "Compute the map again" in page
    face_map.refresh_from_db()
    assert (face_map.status, face_map.error) == (FaceMap.Status.FAILED, STOPPED)
    assert job_claim(FaceMap, face_map.pk)[0] is Claim.OVER  # a late redelivery does nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(reverse("face-map"))
    assert response.status_code == 302
    face_map.refresh_from_db()
    assert face_map.status == FaceMap.Status.DONE and face_map.error == "" and face_map.face_count > 0
    assert "mapped" in alice_client.get(reverse("face-map")).content.decode()

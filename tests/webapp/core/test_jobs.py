"""The job base every background job shares: claims, stale heartbeats, the heartbeat thread."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from webapp.core.jobs import STOPPED, Claim, JobHeartbeat, job_claim, jobs_stale
from webapp.people.models import GroupingRun


def make_run(user, **fields) -> GroupingRun:
    return GroupingRun.objects.create(owner=user, method="hdbscan", progress_total=100, **fields)


@pytest.mark.django_db
def test_a_running_job_turns_stale_when_its_heartbeat_stops(user, settings):
    settings.VISAGE_JOB_STALE_AFTER_S = 60
    run = make_run(user)
    assert run.is_active and not run.is_stale and not run.has_failed  # queued: waits for a worker
    assert job_claim(GroupingRun, run.pk)[0] is Claim.TAKEN
    run.refresh_from_db()
    assert run.status == GroupingRun.Status.RUNNING and run.started_at == run.heartbeat_at
    assert run.is_active and job_claim(GroupingRun, run.pk)[0] is Claim.HELD_ELSEWHERE

    GroupingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    run.refresh_from_db()
    assert run.is_stale and not run.is_active and run.has_failed and run.failure == STOPPED
    assert jobs_stale(GroupingRun) == [run]
    assert run.fail_if_stale()
    run.refresh_from_db()
    assert (run.status, run.error) == (GroupingRun.Status.FAILED, STOPPED) and run.finished_at is not None
    assert job_claim(GroupingRun, run.pk)[0] is Claim.OVER  # the broker's late redelivery does nothing


@pytest.mark.django_db
def test_report_finish_and_fail_touch_only_a_job_in_the_right_state(user):
    run = make_run(user)
    assert not run.report(done=5)  # not claimed: no worker holds it
    job_claim(GroupingRun, run.pk)
    run.refresh_from_db()
    assert run.report(done=40, message="Grouping 9 faces")
    assert run.finish(message="3 group(s)")
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.message) == (GroupingRun.Status.DONE, 100, "3 group(s)")
    assert not run.fail(error="too late")  # an ended job keeps how it ended
    run.refresh_from_db()
    assert run.status == GroupingRun.Status.DONE and run.error == ""


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_a_long_step_alive_and_shows_progress_inside_a_transaction(user, settings):
    settings.VISAGE_JOB_STALE_AFTER_S = 1  # a beat every 0.25 s
    run = make_run(user)
    _, run = job_claim(GroupingRun, run.pk)
    claimed_at = run.heartbeat_at
    seen = []
    with JobHeartbeat(run) as heartbeat, transaction.atomic():
        heartbeat.report(done=60, message="Assigning groups to people")
        for _ in range(8):  # one long call of 2 s, twice the stale limit
            time.sleep(0.25)
            # Read committed: this transaction sees what the thread committed.
            seen.append(GroupingRun.objects.values_list("progress_done", "message", "heartbeat_at").get(pk=run.pk))
            assert not GroupingRun.objects.get(pk=run.pk).is_stale
    assert seen[-1][:2] == (60, "Assigning groups to people")
    assert len({beat for _, _, beat in seen}) >= 4 and seen[-1][2] > claimed_at
    assert (run.progress_done, run.message) == (60, "Assigning groups to people")  # read back on exit
    time.sleep(1.1)
    assert GroupingRun.objects.get(pk=run.pk).is_stale  # the thread ended with the block


@pytest.mark.django_db
def test_the_heartbeat_thread_does_not_wait_for_a_lock_the_work_holds(user, settings):
    """A start service's table lock, held by the work's open transaction (here: the test's):
    the beats give up after their lock timeout instead of blocking the end of the job."""
    from webapp.core.jobs import lock_table

    settings.VISAGE_JOB_STALE_AFTER_S = 1
    run = make_run(user)
    lock_table(GroupingRun)
    _, run = job_claim(GroupingRun, run.pk)
    with JobHeartbeat(run):
        time.sleep(0.3)
        ended = time.monotonic()
    assert time.monotonic() - ended < 2


@pytest.mark.django_db
def test_the_heartbeat_thread_ends_with_the_block_not_at_its_next_beat(user, settings):
    settings.VISAGE_JOB_STALE_AFTER_S = 120  # a beat every 30 s
    _, run = job_claim(GroupingRun, make_run(user).pk)
    for _ in range(5):
        with JobHeartbeat(run) as heartbeat:
            heartbeat.report(done=1)
            ended = time.monotonic()
        assert time.monotonic() - ended < 2

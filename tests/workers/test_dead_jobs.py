"""A worker killed (SIGKILL) in the middle of a grouping run and of a face map, with a
real Redis and real worker processes. The broker would hand the dead worker's message on
only after its visibility timeout (hours); the job's heartbeat stops at once, so within
VISAGE_JOB_STALE_AFTER_S the page shows the job as stopped and the user starts it again."""
from __future__ import annotations

import signal
import time

import pytest
from django.urls import reverse

from tests.workers.helpers import wait_for
from webapp.core.jobs import STOPPED
from webapp.faces.services import photo_process
from webapp.people.models import FaceMap, GroupingRun
from webapp.photos.services import album_create, photo_ingest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STALE_S = 3
SLOW = {"app": "tests.workers.slow_jobs", "VISAGE_TEST_SLOW_S": "600", "VISAGE_JOB_STALE_AFTER_S": str(STALE_S)}
RECOVERED_WITHIN_S = 120


@pytest.fixture
def library(user, albums_dir):
    """Faces of two BBT group photos and Penny's crops, processed in this process."""
    album = album_create(owner=user, name="BBT")
    ids = []
    for path in [albums_dir / "bbt" / "bbt3.jpg", albums_dir / "bbt" / "bbt5.jpg",
                 *sorted((albums_dir / "bbt" / "characters" / "penny").iterdir())]:
        with path.open("rb") as handle:
            ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    assert user.faces.count() > 10
    return ids


def kill_while_alive(workers, worker, is_inside, what: str) -> float:
    """Wait until the job is inside its slow step, check that a live worker's job does not
    turn stale although the step takes longer than the stale limit, then SIGKILL the
    worker. Returns the monotonic time of the kill."""
    def inside() -> bool:
        workers.check_alive(worker)
        return is_inside()

    wait_for(inside, timeout=120, what=what)
    time.sleep(2 * STALE_S)
    assert is_inside()  # still alive and held: the heartbeat thread beats during the slow call
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    return time.monotonic()


def test_grouping_starts_again_within_minutes_after_its_worker_is_killed(
    workers, alice_client, user, library, settings
):
    settings.VISAGE_JOB_STALE_AFTER_S = STALE_S
    slow = workers.start(**SLOW)
    alice_client.post(reverse("people-group"))
    dead = GroupingRun.objects.get(owner=user)

    def clustering() -> bool:
        run = GroupingRun.objects.get(pk=dead.pk)
        return run.status == GroupingRun.Status.RUNNING and run.message.startswith("Grouping") and run.is_active

    killed_at = kill_while_alive(workers, slow, clustering, "the worker to be clustering")

    def shown_stopped() -> bool:
        return STOPPED in alice_client.get(reverse("people-group-progress")).content.decode()

    wait_for(shown_stopped, timeout=STALE_S + 30, what="the progress box to show the stopped run")
    page = alice_client.get(reverse("people-list")).content.decode()
    assert STOPPED in page and 'role="progressbar"' not in page

    workers.start(VISAGE_JOB_STALE_AFTER_S=str(STALE_S))
    alice_client.post(reverse("people-group"))
    again = GroupingRun.objects.filter(owner=user).exclude(pk=dead.pk).get()

    def grouped() -> bool:
        return GroupingRun.objects.get(pk=again.pk).status == GroupingRun.Status.DONE

    wait_for(grouped, timeout=RECOVERED_WITHIN_S, what="the new run to finish")
    assert time.monotonic() - killed_at < RECOVERED_WITHIN_S
    dead.refresh_from_db()
    assert (dead.status, dead.error) == (GroupingRun.Status.FAILED, STOPPED)
    again.refresh_from_db()
    assert again.progress_done == again.progress_total == 100 and "group(s)" in again.message
    assert user.faces.filter(person__isnull=False).exists()
    assert "Last grouping" in alice_client.get(reverse("people-list")).content.decode()


def test_the_face_map_is_computed_again_within_minutes_after_its_worker_is_killed(
    workers, alice_client, user, library, settings
):
    settings.VISAGE_JOB_STALE_AFTER_S = STALE_S
    slow = workers.start(**SLOW)
    assert "Computing the face map" in alice_client.get(reverse("face-map")).content.decode()
    face_map = FaceMap.objects.get(owner=user)

    def projecting() -> bool:
        current = FaceMap.objects.get(pk=face_map.pk)
        return current.status == FaceMap.Status.RUNNING and current.message.startswith("Placing") and current.is_active

    killed_at = kill_while_alive(workers, slow, projecting, "the worker to be placing the faces")

    def shown_stopped() -> bool:
        page = alice_client.get(reverse("face-map"), HTTP_HX_REQUEST="true").content.decode()
        return STOPPED in page and "Compute the map again" in page and "every 2s" not in page

    wait_for(shown_stopped, timeout=STALE_S + 30, what="the map page to show the stopped map")

    workers.start(VISAGE_JOB_STALE_AFTER_S=str(STALE_S))
    alice_client.post(reverse("face-map"))

    def mapped() -> bool:
        return FaceMap.objects.get(pk=face_map.pk).status == FaceMap.Status.DONE

    wait_for(mapped, timeout=RECOVERED_WITHIN_S, what="the map to be computed again")
    assert time.monotonic() - killed_at < RECOVERED_WITHIN_S
    face_map.refresh_from_db()
    assert face_map.error == "" and face_map.face_count == user.faces.count() == len(face_map.points)
    assert "mapped" in alice_client.get(reverse("face-map")).content.decode()

"""New faces are suggested to named people on arrival; grouping waits for uploads to settle."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.faces.models import Face
from webapp.people import arrival
from webapp.people.arrival import grouping_due
from webapp.people.grouping import faces_group
from webapp.people.services import faces_name
from webapp.photos.services import album_create, photo_ingest
from webapp.faces.tasks import photo_process
from webapp.people.models import GroupingRun

pytestmark = pytest.mark.django_db


def ingest(user, album, path):
    with path.open("rb") as handle:
        return photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id


def test_new_photo_faces_are_suggested_on_arrival(user, albums_dir):
    album = album_create(owner=user, name="A")
    obama = albums_dir / "obama_biden" / "train" / "obama"
    first = ingest(user, album, obama / "obama.jpg")
    photo_process.apply(args=[[first]], throw=True)
    faces_name(owner=user, face_ids=list(Face.objects.filter(photo_id=first).values_list("pk", flat=True)), name="Barack Obama")

    second = ingest(user, album, obama / "obama2.jpg")
    biden = ingest(user, album, albums_dir / "obama_biden" / "train" / "biden" / "biden.jpg")
    photo_process.apply(args=[[second, biden]], throw=True)

    new_obama = Face.objects.select_related("person").get(photo_id=second)
    assert new_obama.person.name == "Barack Obama" and new_obama.person_state == "auto"
    assert new_obama.person_confidence >= 0.5
    assert Face.objects.get(photo_id=biden).person is None


def test_grouping_waits_for_uploads_to_settle(user, albums_dir):
    album = album_create(owner=user, name="A")
    assert grouping_due(owner=user) == "no"  # no faces at all
    photo = ingest(user, album, albums_dir / "bbt" / "bbt3.jpg")
    queued = ingest(user, album, albums_dir / "bbt" / "bbt5.jpg")
    photo_process.apply(args=[[photo]], throw=True)
    assert grouping_due(owner=user) == "later"  # bbt5 still queued
    photo_process.apply(args=[[queued]], throw=True)
    assert grouping_due(owner=user) == "later"  # faces just arrived
    Face.objects.filter(owner=user).update(created_at=timezone.now() - timedelta(minutes=5))
    assert grouping_due(owner=user) == "now"
    faces_group(owner=user)
    assert grouping_due(owner=user) == "no"


def test_arriving_faces_start_one_grouping_run_once_uploads_settle(
    user, albums_dir, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """faces.photo_process announces new faces (faces_added); people, listening, queues
    its debounce, which waits while faces arrive and then starts one grouping run."""
    settings.VISAGE_AUTO_GROUP = True
    later = []
    monkeypatch.setattr(arrival, "send_on_commit", lambda name, *, args, countdown: later.append((name, args, countdown)))
    album = album_create(owner=user, name="A")
    photo_process.apply(args=[[ingest(user, album, albums_dir / "bbt" / "bbt3.jpg")]], throw=True)
    assert later == [("people.grouping_start_when_settled", [user.pk], 30.0)]

    assert arrival.grouping_start_when_settled(owner=user) == "later"  # faces just arrived: look again
    assert len(later) == 2 and not GroupingRun.objects.exists()

    Face.objects.filter(owner=user).update(created_at=timezone.now() - timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):  # the run's task, run eagerly
        assert arrival.grouping_start_when_settled(owner=user) == "now"
    [run] = GroupingRun.objects.filter(owner=user)
    assert run.status == GroupingRun.Status.DONE and run.progress_done == run.progress_total > 0
    assert run.message == "0 group(s); 5 face(s) left unsorted"  # five people of one photo never share one


def test_imports_without_a_worker_schedule_no_grouping(user, albums_dir, settings, monkeypatch):
    settings.VISAGE_AUTO_GROUP = True
    later = []
    monkeypatch.setattr(arrival, "send_on_commit", lambda name, **kwargs: later.append(name))
    album = album_create(owner=user, name="A")
    photo = ingest(user, album, albums_dir / "bbt" / "bbt3.jpg")
    photo_process.apply(args=[[photo]], kwargs={"schedule_grouping": False}, throw=True)
    assert later == [] and Face.objects.filter(photo_id=photo).count() == 5

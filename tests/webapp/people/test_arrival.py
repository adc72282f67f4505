"""New faces are suggested to named people on arrival; grouping waits for uploads to settle."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.faces.models import Face
from webapp.people.arrival import grouping_due
from webapp.people.grouping import faces_group
from webapp.people.services import faces_name
from webapp.photos.services import album_create, photo_ingest
from webapp.faces.tasks import photo_process

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

"""The migration that scores faces stored before Face.quality existed."""
from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.conf import settings

from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("webapp.faces.migrations.0012_face_quality_backfill").backfill


def test_the_backfill_scores_unscored_faces_from_their_stored_thumbnail(user, albums_dir):
    album = album_create(owner=user, name="Old faces")
    ids = []
    for name in ("bbt/bbt2.jpg", "friends/multiface.jpg"):
        with (albums_dir / name).open("rb") as handle:
            ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=name).photo_id)
    photo_process(photo_ids=ids)
    at_ingest = dict(Face.objects.values_list("pk", "quality"))
    assert len(at_ingest) == 9 and None not in at_ingest.values()
    Face.objects.update(quality=None)  # as stored before the column existed
    broken = Face.objects.filter(photo_id=ids[1]).order_by("pk").first()
    Face.objects.filter(pk=broken.pk).update(thumbnail=b"not a jpeg")

    backfill(apps, None)

    after = dict(Face.objects.values_list("pk", "quality"))
    assert after.pop(broken.pk) is None  # unreadable: left unscored, and the run goes on
    # From the JPEG thumbnail rather than the crop in memory: the same score, give or take.
    assert all(abs(after[pk] - at_ingest[pk]) < 0.05 for pk in after), (after, at_ingest)
    bystander = min(Face.objects.filter(photo_id=ids[0]), key=lambda f: f.box_x0)
    assert after[bystander.pk] < settings.VISAGE_FACE_QUALITY_MIN

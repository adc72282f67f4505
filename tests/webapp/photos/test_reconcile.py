"""Which queued photos the reconciler re-sends, and that sending stamps them."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from webapp.photos.models import Photo
from webapp.photos.reconcile import photos_requeue_stuck, photos_stuck
from webapp.photos.services import album_create, photo_ingest, photos_send

pytestmark = pytest.mark.django_db

TIMEOUT = timedelta(minutes=10)


@pytest.fixture
def stored(user, albums_dir):
    """Store album photos as queued rows without sending them anywhere."""
    album = album_create(owner=user, name="Stuck")

    def store(name: str, *, created_ago: timedelta, sent_ago: timedelta | None, status=Photo.Status.QUEUED):
        with (albums_dir / name).open("rb") as source:
            outcome = photo_ingest(owner=user, album=album, source=source, original_name=name)
        now = timezone.now()
        Photo.objects.filter(pk=outcome.photo_id).update(
            created_at=now - created_ago, enqueued_at=None if sent_ago is None else now - sent_ago, status=status
        )
        return outcome.photo_id

    return store


def test_stuck_means_queued_and_last_sent_longer_ago_than_the_timeout(stored):
    never_sent = stored("bbt/bbt1.jpg", created_ago=timedelta(minutes=11), sent_ago=None)
    sent_long_ago = stored("bbt/bbt2.jpg", created_ago=timedelta(hours=2), sent_ago=timedelta(minutes=11))
    stored("bbt/bbt3.jpg", created_ago=timedelta(hours=2), sent_ago=timedelta(minutes=9))  # re-sent recently
    stored("bbt/bbt4.jpg", created_ago=timedelta(minutes=1), sent_ago=None)  # just uploaded
    stored("bbt/bbt5.jpg", created_ago=timedelta(hours=2), sent_ago=timedelta(hours=2), status=Photo.Status.DONE)
    stored("groups/sample1.jpg", created_ago=timedelta(hours=2), sent_ago=timedelta(hours=2), status=Photo.Status.FAILED)

    assert photos_stuck(older_than=TIMEOUT, limit=100) == [never_sent, sent_long_ago]
    assert photos_stuck(older_than=TIMEOUT, limit=1) == [never_sent]


def test_requeue_sends_the_stuck_photos_and_stamps_them(stored):
    """Tasks run eagerly here, so the re-sent photo is processed on the spot."""
    stuck = stored("bbt/bbt3.jpg", created_ago=timedelta(minutes=30), sent_ago=timedelta(minutes=20))
    fresh = stored("bbt/bbt1.jpg", created_ago=timedelta(minutes=1), sent_ago=timedelta(minutes=1))
    before = timezone.now()

    assert photos_requeue_stuck(older_than=TIMEOUT, limit=100) == 1

    stuck_photo, fresh_photo = Photo.objects.get(pk=stuck), Photo.objects.get(pk=fresh)
    assert stuck_photo.status == Photo.Status.DONE and stuck_photo.faces.count() == 5
    assert stuck_photo.enqueued_at >= before
    assert fresh_photo.status == Photo.Status.QUEUED and fresh_photo.enqueued_at < before
    assert photos_requeue_stuck(older_than=TIMEOUT, limit=100) == 0


def test_a_send_the_broker_refuses_leaves_the_stamp_alone(stored, eager_celery):
    from tests.workers.test_worker_integration import point_app_at_broker
    from webapp.embedded import free_tcp_port

    photo_id = stored("bbt/bbt3.jpg", created_ago=timedelta(minutes=30), sent_ago=None)
    point_app_at_broker(eager_celery, f"redis://127.0.0.1:{free_tcp_port()}/0")  # nothing listens there
    eager_celery.conf.task_always_eager = False
    try:
        assert photos_send(photo_ids=[photo_id]) == 0
        assert photos_requeue_stuck(older_than=TIMEOUT, limit=100) == 0  # queue length unknown
    finally:
        point_app_at_broker(eager_celery, settings.CELERY_BROKER_URL)
    assert Photo.objects.get(pk=photo_id).enqueued_at is None


def test_a_photo_that_never_finishes_is_marked_failed_after_a_few_sends(stored):
    """A file that kills its worker each time stays queued after every send: after
    MAX_REQUEUES re-sends the reconciler gives up with a message instead of looping."""
    from webapp.photos.reconcile import MAX_REQUEUES

    stuck = stored("bbt/bbt3.jpg", created_ago=timedelta(hours=2), sent_ago=timedelta(hours=1))
    Photo.objects.filter(pk=stuck).update(requeue_count=MAX_REQUEUES - 1)
    assert photos_requeue_stuck(older_than=TIMEOUT, limit=100) == 1  # the last try (processed here: eager)
    assert Photo.objects.get(pk=stuck).requeue_count == MAX_REQUEUES
    Photo.objects.filter(pk=stuck).update(status=Photo.Status.QUEUED, enqueued_at=timezone.now() - timedelta(hours=1))
    assert photos_requeue_stuck(older_than=TIMEOUT, limit=100) == 0
    photo = Photo.objects.get(pk=stuck)
    assert photo.status == Photo.Status.FAILED and "never finished" in photo.error

"""Re-sending photos whose processing message was lost.

A photo stays `queued` until a worker commits its faces. Its message can still vanish:
the broker was down when the upload was sent, Redis lost data in a restart, or a worker
died and the broker will only hand its message out again after the visibility timeout (an
hour). `photos_requeue_stuck` runs every few minutes from Celery beat and sends such
photos again; `faces.photo_process` skips photos that are done, so a second message is harmless.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from webapp.core.broker import queue_backlog
from webapp.photos.models import Photo
from webapp.photos.services import PROCESS_TASK, photos_send

logger = logging.getLogger(__name__)

# A lost message is rare; a photo whose every delivery ends with its worker killed (a
# decoder or model that runs out of memory on it) would otherwise go round forever.
MAX_REQUEUES = 3


def photos_stuck(*, older_than: timedelta, limit: int) -> list[int]:
    """Ids of queued photos last sent (or, never sent, created) more than ``older_than`` ago."""
    cutoff = timezone.now() - older_than
    stale = Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff)
    return list(
        Photo.objects.filter(stale, status=Photo.Status.QUEUED).order_by("pk").values_list("pk", flat=True)[:limit]
    )


def photos_requeue_stuck(*, older_than: timedelta, limit: int) -> int:
    """Send photos stuck in `queued` to `faces.photo_process` again; returns how many were sent.

    Does nothing while the processing queue still holds messages: during a long import the
    photos at its back are not lost, only waiting, and re-sending them every few minutes
    would multiply the backlog. Once the queue drains, whatever is still queued is lost."""
    backlog = queue_backlog(PROCESS_TASK)
    if backlog is None or backlog > 0:
        return 0
    photo_ids = photos_stuck(older_than=older_than, limit=limit)
    if not photo_ids:
        return 0
    hopeless = Photo.objects.filter(pk__in=photo_ids, requeue_count__gte=MAX_REQUEUES)
    given_up = hopeless.update(
        status=Photo.Status.FAILED, processed_at=timezone.now(),
        error=f"processing never finished in {MAX_REQUEUES + 1} attempts: the worker stops on this file "
              "(it may need more memory than the worker has)",
    )
    if given_up:
        logger.error("gave up on %d photos after %d re-sends", given_up, MAX_REQUEUES)
    photo_ids = list(Photo.objects.filter(pk__in=photo_ids, status=Photo.Status.QUEUED).values_list("pk", flat=True))
    Photo.objects.filter(pk__in=photo_ids).update(requeue_count=F("requeue_count") + 1)
    sent = photos_send(photo_ids=photo_ids)
    logger.warning("re-sent %d of %d photos stuck in the queue", sent, len(photo_ids))
    return sent

"""Celery tasks of the photos app, found by the worker's autodiscover_tasks(). Beat
queues the reconciler by name (settings.CELERY_BEAT_SCHEDULE)."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from webapp.photos import reconcile


@shared_task(name="photos.photos_requeue_stuck", ignore_result=True, soft_time_limit=120, time_limit=180)
def photos_requeue_stuck() -> int:
    """Beat's reconciler: re-send photos whose processing message was lost."""
    return reconcile.photos_requeue_stuck(
        older_than=timedelta(seconds=settings.VISAGE_REQUEUE_AFTER_S), limit=settings.VISAGE_REQUEUE_LIMIT
    )

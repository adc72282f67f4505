"""Celery tasks of the photos app, found by the worker's autodiscover_tasks(). Beat
queues the reconciler by name (settings.CELERY_BEAT_SCHEDULE)."""
from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from webapp.photos import libraries, reconcile


@shared_task(name="photos.photos_requeue_stuck", ignore_result=True, soft_time_limit=120, time_limit=180)
def photos_requeue_stuck() -> int:
    """Beat's reconciler: re-send photos whose processing message was lost."""
    return reconcile.photos_requeue_stuck(
        older_than=timedelta(seconds=settings.VISAGE_REQUEUE_AFTER_S), limit=settings.VISAGE_REQUEUE_LIMIT
    )


@shared_task(name="photos.library_scan_execute", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=3600, time_limit=3700)
def library_scan_execute(scan_id: int) -> dict:
    """One scan of an external library (added, rescan button, beat, command)."""
    scan = libraries.scan_execute(scan_id=scan_id)
    return {} if scan is None else {"status": scan.status, "message": scan.message}


@shared_task(name="photos.libraries_rescan", ignore_result=True, soft_time_limit=120, time_limit=180)
def libraries_rescan() -> int:
    """Beat's periodic rescan of every external library."""
    return libraries.libraries_rescan()

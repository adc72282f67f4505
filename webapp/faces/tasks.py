"""Celery tasks of the faces app, found by the worker's autodiscover_tasks().

A task sits next to the service it calls and is named after it; other apps queue it by
that name through webapp.core.broker, so nothing imports this module but the worker."""
from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from webapp.faces import services
from webapp.faces.signals import faces_added, photos_processed

# Photos are small batches; 10 minutes is far beyond a 12-megapixel batch of 8 on a CPU.
PROCESS_SOFT_LIMIT_S = 600


@shared_task(
    name="faces.photo_process",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_kwargs={"max_retries": 8},
    soft_time_limit=PROCESS_SOFT_LIMIT_S,
    time_limit=PROCESS_SOFT_LIMIT_S + 60,
)
def photo_process(self, photo_ids: list[int], force: bool = False, schedule_grouping: bool = True) -> dict:
    """schedule_grouping=False: the caller groups by itself (imports run without a worker)."""
    summary = services.photo_process(photo_ids=list(photo_ids), force=force)
    if summary.done:
        photos_processed.send(sender=photo_process, photo_ids=summary.done)
    for owner_id, face_ids in services.new_faces_by_owner(summary).items():
        faces_added.send(sender=photo_process, owner_id=owner_id, face_ids=face_ids, group_later=schedule_grouping)
    return summary.as_dict()

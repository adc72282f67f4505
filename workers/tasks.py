"""Celery tasks: thin wrappers that take ids and call a service."""
from __future__ import annotations

from django.db import InterfaceError, OperationalError

from webapp.faces import services as face_services
from workers.celery_app import app

# Photos are small batches; 10 minutes is far beyond a 12-megapixel batch of 8 on a CPU.
PROCESS_SOFT_LIMIT_S = 600


@app.task(
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
def photo_process(self, photo_ids: list[int], force: bool = False) -> dict:
    return face_services.photo_process(photo_ids=list(photo_ids), force=force).as_dict()

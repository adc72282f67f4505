"""Celery tasks: thin wrappers that take ids and call a service."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError

from webapp.faces import services as face_services
from webapp.people.arrival import SETTLE, faces_suggest_on_arrival, grouping_due
from webapp.people.facemap import facemap_compute
from webapp.people.grouping import grouping_run_execute, grouping_start
from webapp.photos import reconcile
from workers.celery_app import app
from workers.dispatch import send_quietly

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
def photo_process(self, photo_ids: list[int], force: bool = False, schedule_grouping: bool = True) -> dict:
    """schedule_grouping=False: the caller groups by itself (imports run without a worker)."""
    summary = face_services.photo_process(photo_ids=list(photo_ids), force=force)
    for owner_id, face_ids in face_services.new_faces_by_owner(summary).items():
        owner = get_user_model().objects.get(pk=owner_id)
        faces_suggest_on_arrival(owner=owner, face_ids=face_ids)
        if schedule_grouping and settings.VISAGE_AUTO_GROUP:
            send_quietly(people_group_when_settled, args=[owner_id], countdown=SETTLE.total_seconds())
    return summary.as_dict()


@app.task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError, InterfaceError),
          retry_backoff=True, retry_kwargs={"max_retries": 5}, soft_time_limit=1800, time_limit=1900)
def people_group(run_id: int) -> dict:
    """Carry out a grouping run (from the page's button, or once uploads settle)."""
    result = grouping_run_execute(run_id=run_id)
    if result is None:
        return {}  # a duplicate delivery: the run ended or a live worker holds it
    return {"groups": result.groups, "grouped": result.grouped_faces, "unsorted": result.unsorted_faces}


@app.task(ignore_result=True)
def people_group_when_settled(owner_id: int) -> str:
    """Debounced grouping after ingest: waits until uploads stop, runs once."""
    owner = get_user_model().objects.get(pk=owner_id)
    due = grouping_due(owner=owner)
    if due == "later":
        send_quietly(people_group_when_settled, args=[owner_id], countdown=SETTLE.total_seconds())
    elif due == "now":
        grouping_start(owner=owner)
    return due


@app.task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def facemap_compute_task(owner_id: int) -> int:
    face_map = facemap_compute(owner=get_user_model().objects.get(pk=owner_id))
    return face_map.face_count


@app.task(ignore_result=True, soft_time_limit=120, time_limit=180)
def photos_requeue_stuck() -> int:
    """Beat's reconciler: re-send photos whose processing message was lost."""
    return reconcile.photos_requeue_stuck(
        older_than=timedelta(seconds=settings.VISAGE_REQUEUE_AFTER_S), limit=settings.VISAGE_REQUEUE_LIMIT
    )

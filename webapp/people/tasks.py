"""Celery tasks of the people app, found by the worker's autodiscover_tasks(): thin
wrappers that take ids and call the service each is named after. Services queue them by
name through webapp.core.broker."""
from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError

from webapp.people import arrival, facemap, grouping


@shared_task(name="people.grouping_run_execute", acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, retry_kwargs={"max_retries": 5},
             soft_time_limit=1800, time_limit=1900)
def grouping_run_execute(run_id: int) -> dict:
    """Carry out a grouping run (from the page's button, or once uploads settle)."""
    result = grouping.grouping_run_execute(run_id=run_id)
    if result is None:
        return {}  # a duplicate delivery: the run ended or a live worker holds it
    return {"groups": result.groups, "grouped": result.grouped_faces, "unsorted": result.unsorted_faces}


@shared_task(name="people.grouping_start_when_settled", ignore_result=True)
def grouping_start_when_settled(owner_id: int) -> str:
    """Debounced grouping after ingest: waits until uploads stop, runs once."""
    return arrival.grouping_start_when_settled(owner=get_user_model().objects.get(pk=owner_id))


@shared_task(name="people.facemap_compute", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=1800, time_limit=1900)
def facemap_compute(owner_id: int) -> int:
    return facemap.facemap_compute(owner=get_user_model().objects.get(pk=owner_id)).face_count

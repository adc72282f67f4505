"""Celery tasks of the "Face model" page: retraining runs and switches of version, found
by the worker's autodiscover_tasks() and queued by name (webapp.core.broker).

Both run on the `long` queue (their own workers, so uploads on `gpu` keep flowing), are
acks_late, and take the job row's id; the row decides whether this delivery does the
work (see webapp/core/jobs.py)."""
from __future__ import annotations

from celery import shared_task
from django.conf import settings

from webapp.training import runs, switching
from webapp.core.jobs import Claim, job_claim, stale_after
from webapp.training.models import ModelSwitch, TrainingRun

HELD_RETRIES = 30  # a duplicate delivery waits up to 30 x VISAGE_JOB_STALE_AFTER_S for the holder


def _claim_or_wait(task, model_class, pk: int):
    """The job row if this delivery does the work, None if it is over; a job another
    worker holds makes this delivery retry later (see webapp.core.jobs.job_claim)."""
    claim, job = job_claim(model_class, pk)
    if claim is Claim.HELD_ELSEWHERE:
        raise task.retry(countdown=stale_after().total_seconds())
    return job if claim is Claim.TAKEN else None


LONG_JOB = {"bind": True, "acks_late": True, "reject_on_worker_lost": True, "max_retries": HELD_RETRIES,
            "soft_time_limit": settings.VISAGE_LONG_JOB_LIMIT_S, "time_limit": settings.VISAGE_LONG_JOB_LIMIT_S + 300}


@shared_task(name="training.training_execute", **LONG_JOB)
def training_execute(self, run_id: int) -> str:
    run = _claim_or_wait(self, TrainingRun, run_id)
    if run is not None:
        run = runs.training_execute(run=run)
    return run.status if run else "not this delivery's"


@shared_task(name="training.switch_execute", **LONG_JOB)
def switch_execute(self, switch_id: int) -> str:
    switch = _claim_or_wait(self, ModelSwitch, switch_id)
    if switch is None:
        return "not this delivery's"
    try:
        return switching.switch_execute(switch=switch, batch_size=settings.VISAGE_REEMBED_BATCH).status
    except Exception as exc:
        switching.switch_fail(switch_id=switch_id, error=f"{type(exc).__name__}: {exc}")
        raise

"""Celery tasks of the "Face model" page: retraining runs and switches of version.

Both run on the `gpu` queue, are acks_late, and take the job row's id; the row decides
whether this delivery does the work (see webapp/core/jobs.py)."""
from __future__ import annotations

from celery.signals import worker_ready
from django.conf import settings

from webapp.core.jobs import Claim, job_claim, jobs_stale, stale_after
from webapp.training.models import ModelSwitch, TrainingRun
from webapp.training.runs import training_execute
from webapp.training.switching import switch_execute, switch_fail
from workers.celery_app import app
from workers.dispatch import send_quietly

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


@app.task(**LONG_JOB)
def training_run_task(self, run_id: int) -> str:
    run = _claim_or_wait(self, TrainingRun, run_id)
    if run is not None:
        run = training_execute(run=run)
    return run.status if run else "not this delivery's"


@app.task(**LONG_JOB)
def model_switch_task(self, switch_id: int) -> str:
    switch = _claim_or_wait(self, ModelSwitch, switch_id)
    if switch is None:
        return "not this delivery's"
    try:
        return switch_execute(switch=switch, batch_size=settings.VISAGE_REEMBED_BATCH).status
    except Exception as exc:
        switch_fail(switch_id=switch_id, error=f"{type(exc).__name__}: {exc}")
        raise


@worker_ready.connect
def jobs_resume(**_kwargs) -> None:
    """A worker that starts re-sends the jobs no live worker holds (its predecessor was
    killed): they resume from their checkpoints instead of waiting for the broker's
    visibility timeout to redeliver them."""
    for job in jobs_stale(TrainingRun):
        send_quietly(training_run_task, args=[job.pk])
    for job in jobs_stale(ModelSwitch):
        send_quietly(model_switch_task, args=[job.pk])

"""What a worker does as it starts (imported by the worker through celery_app's include).

The resume hook lives here, not in the training app: it belongs to the worker process's
life (a web process never fires worker_ready), and it is the one place that says which
kinds of job a starting worker takes over, whichever app they come from."""
from __future__ import annotations

from celery.signals import worker_ready

from webapp.core.broker import send_quietly
from webapp.core.jobs import jobs_stale
from webapp.training.models import ModelSwitch, TrainingRun


@worker_ready.connect
def jobs_resume(**_kwargs) -> None:
    """A worker that starts re-sends the jobs no live worker holds (its predecessor was
    killed): they resume from their checkpoints instead of waiting for the broker's
    visibility timeout to redeliver them."""
    for job in jobs_stale(TrainingRun):
        send_quietly("training.training_execute", args=[job.pk])
    for job in jobs_stale(ModelSwitch):
        send_quietly("training.switch_execute", args=[job.pk])

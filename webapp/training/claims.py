"""Which worker holds a long job (a training run, a model switch).

Tasks are acks_late, so a job can be delivered twice: after a worker dies, or when the
broker's visibility timeout passes while it still runs. The job row decides: a worker
takes it only when it is queued, or running with a heartbeat older than
VISAGE_JOB_STALE_AFTER_S (its worker died); otherwise the delivery is a duplicate and
waits or ends."""
from __future__ import annotations

from datetime import timedelta
from enum import Enum

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone


def stale_after() -> timedelta:
    return timedelta(seconds=settings.VISAGE_JOB_STALE_AFTER_S)


class Claim(Enum):
    TAKEN = "taken"
    HELD_ELSEWHERE = "held elsewhere"  # running with a fresh heartbeat: try again later
    OVER = "over"  # finished, failed or cancelled: nothing to do


def job_claim(model_class, pk: int) -> tuple[Claim, object | None]:
    with transaction.atomic():
        job = model_class.objects.select_for_update().filter(pk=pk).first()
        if job is None or not job.is_open:
            return Claim.OVER, job
        now = timezone.now()
        if job.status == "running" and job.heartbeat_at and now - job.heartbeat_at < stale_after():
            return Claim.HELD_ELSEWHERE, job
        job.status = "running"
        job.heartbeat_at = now
        fields = ["status", "heartbeat_at"]
        if hasattr(job, "started_at") and job.started_at is None:
            job.started_at = now
            fields.append("started_at")
        job.save(update_fields=fields)
        return Claim.TAKEN, job


def jobs_stale(model_class):
    """Open jobs no worker holds: queued, or running without a recent heartbeat."""
    cutoff = timezone.now() - stale_after()
    open_jobs = model_class.objects.filter(status__in=model_class.OPEN)
    return [job for job in open_jobs if job.status == "queued" or job.heartbeat_at is None or job.heartbeat_at < cutoff]


def lock_table(model_class) -> None:
    """Serialise "is one open? then create one" across processes, for the rest of the
    transaction (readers are not blocked)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {model_class._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")

"""What every background job row shares (grouping runs, face maps, retraining runs, model
switches): status, progress, message, the heartbeat of the worker holding it, and how it
ended; plus the claim that decides which delivery of a task does the work.

Tasks are acks_late, so a job can be delivered twice: after a worker dies, or when the
broker's visibility timeout passes while it still runs. The job row decides: a worker
takes it only when it is queued, or running with a heartbeat older than
VISAGE_JOB_STALE_AFTER_S (its worker died); otherwise the delivery is a duplicate.

A worker that dies leaves its job "running" with a heartbeat that stops moving. The
broker redelivers the message only after its visibility timeout (hours), so the pages do
not wait for it: a stale job shows as stopped (``has_failed``, ``failure``) and the start
services fail it (``fail_if_stale``) and start a new one. A live job is never stale,
because ``JobHeartbeat`` writes the heartbeat from its own thread while the job's work
runs, however long one step takes."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from enum import Enum

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

STOPPED = "The worker stopped before the job was done; start it again"


def stale_after() -> timedelta:
    return timedelta(seconds=settings.VISAGE_JOB_STALE_AFTER_S)


class JobStatus(models.TextChoices):
    """The statuses every job kind has; a kind with more (TrainingRun) declares its own
    Status with these four values among them and overrides ``status``."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Job(models.Model):
    Status = JobStatus

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=300, blank=True)
    # Written by the worker while it holds the job; a stale one means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    OPEN = (JobStatus.QUEUED, JobStatus.RUNNING)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def is_stale(self) -> bool:
        """Running, but its worker has not written a heartbeat for VISAGE_JOB_STALE_AFTER_S."""
        if self.status != self.Status.RUNNING:
            return False
        return self.heartbeat_at is None or timezone.now() - self.heartbeat_at >= stale_after()

    @property
    def is_active(self) -> bool:
        """Queued, or held by a live worker: what a page polls and a second start waits for."""
        return self.is_open and not self.is_stale

    @property
    def has_failed(self) -> bool:
        return self.status == self.Status.FAILED or self.is_stale

    @property
    def failure(self) -> str:
        return STOPPED if self.is_stale else self.error

    def _update(self, only_status: tuple, **fields) -> bool:
        """Write ``fields`` if the row's status is in ``only_status``; mirror them on self."""
        updated = type(self).objects.filter(pk=self.pk, status__in=only_status).update(**fields)
        if updated:
            for name, value in fields.items():
                setattr(self, name, value)
        return bool(updated)

    def report(self, *, done: int | None = None, total: int | None = None, message: str | None = None, **fields) -> bool:
        """Progress and heartbeat of a job this worker holds, with a kind's own progress
        ``fields`` (loss, ETA); False once it is no longer running (failed as stale, cancelled)."""
        return self._update((self.Status.RUNNING,), **_report_fields(done, total, message), **fields)

    def finish(self, *, message: str | None = None, **fields) -> bool:
        """The job is done: progress full, the kind's result ``fields`` saved."""
        fields = {"status": self.Status.DONE, "finished_at": timezone.now(), **fields}
        if self.progress_total:
            fields.setdefault("progress_done", self.progress_total)
        if message is not None:
            fields["message"] = message[:300]
        return self._update(self.OPEN, **fields)

    def fail(self, *, error: str) -> bool:
        """An open job ends with ``error``; an ended one is left as it is."""
        return self._update(self.OPEN, status=self.Status.FAILED, error=error[:4000], finished_at=timezone.now())

    def fail_if_stale(self) -> bool:
        """Fail this job if its worker died (see the module docstring); True if it did."""
        return self.is_stale and self.fail(error=STOPPED)


def _report_fields(done: int | None, total: int | None, message: str | None) -> dict:
    fields = {"heartbeat_at": timezone.now()}
    if done is not None:
        fields["progress_done"] = done
    if total is not None:
        fields["progress_total"] = total
    if message is not None:
        fields["message"] = message[:300]
    return fields


class Claim(Enum):
    TAKEN = "taken"
    HELD_ELSEWHERE = "held elsewhere"  # running with a fresh heartbeat: a duplicate delivery
    OVER = "over"  # ended (done, failed, cancelled) or deleted: nothing to do


def job_claim(model_class: type[Job], pk: int) -> tuple[Claim, Job | None]:
    """Take the job for this delivery: queued, or running with a stale heartbeat (its
    worker died, so this delivery resumes it)."""
    with transaction.atomic():
        job = model_class.objects.select_for_update().filter(pk=pk).first()
        if job is None or not job.is_open:
            return Claim.OVER, job
        if job.is_active and job.status == job.Status.RUNNING:
            return Claim.HELD_ELSEWHERE, job
        now = timezone.now()
        job.status, job.heartbeat_at = job.Status.RUNNING, now
        job.started_at = job.started_at or now
        job.save(update_fields=["status", "heartbeat_at", "started_at"])
        return Claim.TAKEN, job


def jobs_stale(model_class: type[Job]) -> list[Job]:
    """Open jobs no worker holds: queued, or running without a recent heartbeat."""
    return [job for job in model_class.objects.filter(status__in=model_class.OPEN) if job.status != job.Status.RUNNING or job.is_stale]


def lock_table(model_class: type[Job]) -> None:
    """Serialise "is one open? then create one" across processes, for the rest of the
    transaction (readers are not blocked)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {model_class._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


# A beat waits at most this long for a lock on the job row (or table): the work's own
# transaction may hold one (a start service's table lock, the switch's final swap), and
# a beat that waited for it could never be joined while that transaction is open.
HEARTBEAT_LOCK_TIMEOUT_MS = 1000


def _lock_timeout(milliseconds: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{milliseconds}ms"])


class JobHeartbeat:
    """While the ``with`` block runs, a thread writes the job's heartbeat every quarter of
    VISAGE_JOB_STALE_AFTER_S, and the progress given to ``report`` as soon as it comes.

    The thread has its own database connection and commits each beat, so progress shows on
    the page even while the work holds one long transaction (grouping records its edits as
    one undoable operation), and a single long call (clustering, the map's projection)
    never makes a live job look dead. The work may write the job row itself; a beat that
    meets the lock of such a write gives up after HEARTBEAT_LOCK_TIMEOUT_MS."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.every = max(0.2, stale_after().total_seconds() / 4)
        self._pending: dict = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job._meta.model_name}-{job.pk}", daemon=True)

    def report(self, *, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        with self._lock:
            self._pending.update({k: v for k, v in (("done", done), ("total", total), ("message", message)) if v is not None})
        self._wake.set()

    def __enter__(self) -> JobHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type, *_exc_info) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()
        if exc_type is None:  # the progress the thread wrote, before finish()
            self.job.refresh_from_db(fields=["progress_done", "progress_total", "message", "heartbeat_at"])

    def _run(self) -> None:
        try:
            while True:
                self._wake.clear()  # before reading the flags: a later report or stop wakes the next wait
                if self._stop:
                    break
                with self._lock:
                    pending, self._pending = self._pending, {}
                job = self.job  # only read here: the work's thread owns the object
                try:
                    with transaction.atomic():
                        _lock_timeout(HEARTBEAT_LOCK_TIMEOUT_MS)
                        type(job).objects.filter(pk=job.pk, status=job.Status.RUNNING).update(**_report_fields(
                            pending.get("done"), pending.get("total"), pending.get("message")))
                except Exception as exc:  # the database is away or the row locked: the next beat tries again
                    logger.warning("could not write the heartbeat of %s #%s: %s", job._meta.label, job.pk, exc)
                    with self._lock:
                        self._pending = {**pending, **self._pending}
                self._wake.wait(self.every)
        finally:
            connection.close()  # this thread's connection, not the worker's

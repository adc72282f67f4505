"""Jobs behind the admin's "Face model" page: retraining runs and switches of version."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class BackgroundJob(models.Model):
    """What every long job row has: who started it, its status (OPEN: not ended yet), the
    heartbeat of the worker holding it (webapp/training/claims.py) and how it ended."""

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Written by the worker while it holds the job; a stale one means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    OPEN: tuple = ()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class TrainingRun(BackgroundJob):
    """One fine-tuning of the active network on the libraries' confirmed people."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"  # a candidate version waits for promote / discard
        PROMOTED = "promoted", "Promoted"
        DISCARDED = "discarded", "Discarded"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    OPEN = (Status.QUEUED, Status.RUNNING)

    # The libraries that take part: null = every user's.
    owner_ids = models.JSONField(null=True, blank=True)
    base_model = models.ForeignKey("faces.EmbeddingModel", on_delete=models.PROTECT, related_name="+")
    result_model = models.ForeignKey("faces.EmbeddingModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=200, blank=True)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    eta_seconds = models.FloatField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True, help_text="people and faces used, held-out split")
    metrics = models.JSONField(default=dict, blank=True, help_text="old vs new on held-out people and celeba5 val")
    recommend_promote = models.BooleanField(null=True, blank=True)
    recommendation = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)

    @property
    def epoch(self) -> int | None:
        """1-based epoch of the current step (the page shows "epoch 2 of 3")."""
        epochs = self.data.get("epochs")
        if not epochs or not self.total_steps:
            return None
        return min(epochs, self.step * epochs // self.total_steps + 1)


class ModelSwitch(BackgroundJob):
    """Re-embedding every face with ``target`` and then making it the active version."""

    class Kind(models.TextChoices):
        PROMOTE = "promote", "Promote"
        ROLLBACK = "rollback", "Roll back"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Re-embedding"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    OPEN = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(max_length=10, choices=Kind.choices)
    target = models.ForeignKey("faces.EmbeddingModel", on_delete=models.PROTECT, related_name="+")
    previous = models.ForeignKey("faces.EmbeddingModel", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    faces_total = models.PositiveIntegerField(default=0)
    faces_done = models.PositiveIntegerField(default=0)
    eta_seconds = models.FloatField(null=True, blank=True)

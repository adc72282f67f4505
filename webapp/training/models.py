"""Jobs behind the admin's "Face model" page: retraining runs and switches of version."""
from __future__ import annotations

from django.db import models

from webapp.core.jobs import Job


class TrainingRun(Job):
    """One fine-tuning of the active network on the libraries' confirmed people; progress
    counts training steps, message is the phase the run is in."""

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
    loss = models.FloatField(null=True, blank=True)
    eta_seconds = models.FloatField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True, help_text="people and faces used, held-out split")
    metrics = models.JSONField(default=dict, blank=True, help_text="old vs new on held-out people and celeba5 val")
    recommend_promote = models.BooleanField(null=True, blank=True)
    recommendation = models.TextField(blank=True)

    @property
    def epoch(self) -> int | None:
        """1-based epoch of the current step (the page shows "epoch 2 of 3")."""
        epochs = self.data.get("epochs")
        if not epochs or not self.progress_total:
            return None
        return min(epochs, self.progress_done * epochs // self.progress_total + 1)


class ModelSwitch(Job):
    """Re-embedding every face with ``target`` and then making it the active version;
    progress counts faces."""

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
    eta_seconds = models.FloatField(null=True, blank=True)

from __future__ import annotations

from django.conf import settings
from django.db import models


class Album(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="albums")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


def photo_upload_path(photo: "Photo", filename: str) -> str:
    # Content-addressed and per owner: no user-chosen path component reaches the disk.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"photos/{photo.owner_id}/{photo.content_hash[:2]}/{photo.content_hash}.{extension}"


class Photo(models.Model):
    class Status(models.TextChoices):
        # A photo stays queued until its faces are committed in one transaction, so a
        # worker that dies mid-photo leaves nothing half-written, only a queued photo.
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(upload_to=photo_upload_path, max_length=300)
    original_name = models.CharField(max_length=500)
    content_hash = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    image_format = models.CharField(max_length=10)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    thumbnail = models.BinaryField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When a photo_process task for this photo was last handed to the broker; the
    # reconciler re-sends queued photos whose message must have been lost.
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How often the reconciler had to send it again: a file that kills its worker every
    # time (out of memory) is marked failed instead of being re-sent forever.
    requeue_count = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "content_hash"], name="photo_unique_content_per_owner"),
        ]
        indexes = [
            models.Index(fields=["album", "status"]),
            # Small: only queued photos, which the reconciler scans every few minutes.
            models.Index(fields=["enqueued_at"], condition=models.Q(status="queued"), name="photo_queued_enqueued_at"),
        ]

    def __str__(self) -> str:
        return self.original_name

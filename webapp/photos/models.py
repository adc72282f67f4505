from __future__ import annotations

from django.conf import settings
from django.db import models

from webapp.core.jobs import Job


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


class Library(models.Model):
    """A folder under one of settings.VISAGE_LIBRARY_ROOTS whose photos Visage indexes in
    place: its Photo rows point at the files where they are (``relative_path``), nothing
    is copied and nothing is written into the folder. Its photos are shown as one album
    (``album``), which takes no uploads: an upload would live in Visage's media, not in
    the folder, and the album would no longer mirror it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="libraries")
    album = models.OneToOneField(Album, on_delete=models.CASCADE, related_name="library")
    # Resolved (no symlink, no ``..``) when the library was added, and checked to lie
    # under an allowed root then and at every scan.
    root = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["root", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "root"], name="library_unique_root_per_owner")]

    def __str__(self) -> str:
        return self.root


class LibraryScan(Job):
    """One scan of a library (added, rescan button, beat, command): progress for the
    library page and what became of the files; ``errors`` lists each file that could not be
    taken, with the reason, as [{"path": relative path, "reason": text}]."""

    library = models.ForeignKey(Library, on_delete=models.CASCADE, related_name="scans")
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    vanished = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)


class Photo(models.Model):
    class Status(models.TextChoices):
        # A photo stays queued until its faces are committed in one transaction, so a
        # worker that dies mid-photo leaves nothing half-written, only a queued photo.
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="photos")
    # The stored upload; empty for a photo of an external library, read where it lies
    # (``library`` and ``relative_path``: webapp/photos/originals.py opens either).
    file = models.FileField(upload_to=photo_upload_path, max_length=300, blank=True)
    library = models.ForeignKey(Library, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    relative_path = models.CharField(max_length=1000, blank=True)
    # What the last scan saw: a file whose size and mtime are the same is taken as
    # unchanged without reading it (a rescan of 10,000 files is 10,000 stats).
    file_mtime_ns = models.BigIntegerField(null=True, blank=True)
    # The file was gone at the last scan: its faces left the people views, their names
    # kept (faces.KeptName) for the day it comes back.
    missing = models.BooleanField(default=False)
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
            # Uploads are de-duplicated per owner; a library mirrors its folder, copies included.
            models.UniqueConstraint(
                fields=["owner", "content_hash"], condition=models.Q(library__isnull=True), name="photo_unique_content_per_owner"
            ),
            models.UniqueConstraint(
                fields=["library", "relative_path"], condition=models.Q(library__isnull=False), name="photo_unique_path_per_library"
            ),
        ]
        indexes = [
            models.Index(fields=["album", "status"]),
            # Small: only queued photos, which the reconciler scans every few minutes.
            models.Index(fields=["enqueued_at"], condition=models.Q(status="queued"), name="photo_queued_enqueued_at"),
        ]

    def __str__(self) -> str:
        return self.original_name


class RegionImport(models.Model):
    """What the last reading of a photo's face regions (its embedded XMP and sidecars:
    webapp/photos/face_regions.py) gave: how many names went onto faces, the names whose
    region has no detected face (shown on the photo's page), and the regions refused
    with the reason (no name, not a face, outside the photo, unreadable XMP)."""

    photo = models.OneToOneField(Photo, on_delete=models.CASCADE, primary_key=True, related_name="region_import")
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.JSONField(default=list, blank=True)  # names
    refused = models.JSONField(default=list, blank=True)  # [{"name", "reason", "origin"}]
    read_at = models.DateTimeField(auto_now=True)

from django.conf import settings
from django.db import models

from webapp.core.jobs import Job
from webapp.people.naming import name_key


class Person(models.Model):
    """A group of faces that belong to one human in one user's library."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="people")
    name = models.CharField(max_length=200, blank=True)
    name_key = models.CharField(max_length=200, blank=True, editable=False, db_index=True)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["owner", "name_key"], name="person_owner_name_key")]

    def save(self, *args, **kwargs):
        self.name_key = name_key(self.name)
        if "update_fields" in kwargs and kwargs["update_fields"] is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_key"}
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.name or f"Unnamed #{self.pk}"


class FaceRejection(models.Model):
    """The user took this face out of this person: nothing automatic puts it back."""

    face = models.ForeignKey("faces.Face", on_delete=models.CASCADE, related_name="rejections")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="rejections")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["face", "person"], name="one_rejection_per_face_person")]


class Operation(models.Model):
    """One edit in a user's library, with what it changed, so it can be undone exactly."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=20)
    summary = models.CharField(max_length=300)
    # Rows as they were before the edit: {"faces": {...}, "people": {...}, "rejections": {...}}
    before = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class FaceMap(Job):
    """The latest 2-D map of a user's faces, computed by a task and cached here; one row
    per user, queued again when the library has changed (finished_at: when it was mapped)."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="face_map")
    points = models.JSONField(default=list)  # [[face_id, x, y], ...] with x, y in [0, 1]
    face_count = models.PositiveIntegerField(default=0)


class PersonDistinction(models.Model):
    """The user said these two people are not the same: never ask again."""

    first = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["first", "second"], name="one_distinction_per_pair")]


class GroupingRun(Job):
    """A grouping run of one library (from the people page's button, or once uploads
    settle: then created_by is empty), for the progress bar on the people page."""

    PROGRESS_TOTAL = 100  # progress is reported in percent

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grouping_runs")
    method = models.CharField(max_length=20)

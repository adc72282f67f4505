from __future__ import annotations

from django.db import models
from django.utils import timezone


class LoginFailure(models.Model):
    """One failed sign-in. Kept in the database (not a per-process cache) so that every
    web server process counts the same failures; rows older than the window are pruned."""

    username = models.CharField(max_length=150)  # as typed, case-folded; may name nobody
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    failed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["username", "failed_at"], name="loginfailure_username"),
            models.Index(fields=["client_ip", "failed_at"], name="loginfailure_client_ip"),
            models.Index(fields=["failed_at"], name="loginfailure_failed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.client_ip} at {self.failed_at:%Y-%m-%d %H:%M:%S}"

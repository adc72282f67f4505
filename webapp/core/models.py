from __future__ import annotations

from django.conf import settings
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


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is kept: the secret is shown once,
    when it is made. Tokens are long random strings, so a plain hash (no salt, no
    stretching) is enough, and it lets a request find its token by one indexed lookup."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12)  # the secret's first characters, shown to tell tokens apart
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user_id}"

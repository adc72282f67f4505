"""Login throttling: refuse sign-in for a while after repeated failures.

Failures are counted per username (every spelling of a name counts for the same key) and
per client address, over a sliding window. A username locks after
VISAGE_LOGIN_FAILURE_LIMIT failures, an address after VISAGE_LOGIN_IP_FAILURE_LIMIT (higher:
several people may share one). While locked, attempts are refused without checking the
password and are not counted, so a lock ends one window after the failure that started it.
"""
from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from webapp.core.models import LoginFailure


def _window() -> timedelta:
    return timedelta(seconds=settings.VISAGE_LOGIN_FAILURE_WINDOW_S)


def _username_key(username: str) -> str:
    return username.strip().casefold()[:150]


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or with VISAGE_TRUSTED_PROXIES = n the n-th
    address from the right of X-Forwarded-For (the one our own last proxy saw)."""
    if request is None:
        return None
    candidates = []
    if settings.VISAGE_TRUSTED_PROXIES > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= settings.VISAGE_TRUSTED_PROXIES:
            candidates.append(forwarded[-settings.VISAGE_TRUSTED_PROXIES])
    candidates.append(request.META.get("REMOTE_ADDR", ""))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def login_locked_until(*, username: str, client_ip: str | None) -> datetime | None:
    """When sign-in for this username from this address is allowed again; None if now."""
    since = timezone.now() - _window()
    recent = LoginFailure.objects.filter(failed_at__gte=since).order_by("-failed_at")
    checks = [(Q(username=_username_key(username)), settings.VISAGE_LOGIN_FAILURE_LIMIT)]
    if client_ip is not None:
        checks.append((Q(client_ip=client_ip), settings.VISAGE_LOGIN_IP_FAILURE_LIMIT))
    ends = []
    for condition, limit in checks:
        if limit < 1:
            continue  # a limit of 0 turns that check off
        # The limit-th most recent failure starts the lock; it ends when that one ages out.
        started = recent.filter(condition).values_list("failed_at", flat=True)[limit - 1 : limit].first()
        if started is not None:
            ends.append(started + _window())
    return max(ends, default=None)


def login_failure_record(*, username: str, client_ip: str | None) -> None:
    now = timezone.now()
    LoginFailure.objects.filter(failed_at__lt=now - _window()).delete()
    LoginFailure.objects.create(username=_username_key(username), client_ip=client_ip, failed_at=now)


def login_failures_clear(*, username: str) -> None:
    """A correct password clears the username's failures. The address keeps its count:
    otherwise one valid account would let its owner keep guessing other people's."""
    LoginFailure.objects.filter(username=_username_key(username)).delete()

"""Personal API tokens: made, listed and revoked on the user's settings page, and turned
back into their user by the API's bearer authentication."""
from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from webapp.core.models import ApiToken

SECRET_PREFIX = "vsg_"  # tells a Visage token apart in a config file or a leak scanner
NAME_MAX = ApiToken._meta.get_field("name").max_length


class TokenError(ValueError):
    """A token request the user must correct (shown on the page, 400 in the API)."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token and its secret, which is never stored and cannot be shown again."""
    name = " ".join(name.split())
    if not name:
        raise TokenError("Give the token a name, such as the script or machine that will use it.")
    if len(name) > NAME_MAX:
        raise TokenError(f"A token's name has at most {NAME_MAX} characters.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:10], secret_hash=_hash(secret))
    return token, secret


def tokens_of(*, user):
    return ApiToken.objects.filter(user=user)


def token_revoke(*, user, token_id: int) -> bool:
    """False when the user has no such token (someone else's counts as none)."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return deleted > 0


def token_user(secret: str):
    """The active user a secret belongs to, or None. Marks the token as used (at most once
    a minute, so a busy script does not write on every call)."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(secret_hash=_hash(secret)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user

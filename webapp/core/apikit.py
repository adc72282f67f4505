"""What every endpoint of the JSON API shares (docs/api.md): who is asking, how a list is
paged and how fast one user may call. The API itself is put together in webapp/api.py;
each app keeps its endpoints in its own ``api.py`` router."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Schema
from ninja.pagination import PaginationBase
from ninja.security import HttpBasicAuth, HttpBearer, SessionAuth
from ninja.throttling import UserRateThrottle

from webapp.core import throttling
from webapp.core.tokens import token_user


class ApiError(Exception):
    """A request the API refuses, answered as ``{"error": message}`` with ``status``. The
    apps' own errors (QueryError, EditError, ...) are mapped to the same body in webapp/api.py."""

    def __init__(self, message: str, status: int = 400, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s  # sent as Retry-After: when to try again


def not_found(what: str, pk: int) -> ApiError:
    """Another user's id is answered exactly like an id that does not exist."""
    return ApiError(f"No {what} with id {pk}.", status=404)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer vsg_…``: a personal token from the user's settings page."""

    def authenticate(self, request: HttpRequest, token: str):
        user = token_user(token)
        if user is not None:
            request.user = user
        return user


class PasswordAuth(HttpBasicAuth):
    """HTTP Basic with a Visage username and password, for quick curl calls. Guesses count
    against the sign-in lock as on the sign-in page (webapp/core/throttling.py): the API is
    no way around it."""

    def authenticate(self, request: HttpRequest, username: str, password: str):
        address = throttling.client_ip(request)
        locked_until = throttling.login_locked_until(username=username, client_ip=address)
        if locked_until is not None:
            wait = max(1, math.ceil((locked_until - timezone.now()).total_seconds()))
            raise ApiError("Too many failed sign-in attempts: wait a while before trying again.", status=429,
                           retry_after_s=wait)
        user = authenticate(request, username=username, password=password)
        if user is None:
            throttling.login_failure_record(username=username, client_ip=address)
            return None
        throttling.login_failures_clear(username=username)
        request.user = user
        return user


# Tried in this order. A browser session must send the CSRF token on writes (the pages do);
# a token or a password is not sent by a browser on its own, so it needs none.
AUTH = [TokenAuth(), PasswordAuth(), SessionAuth(csrf=True)]


class ApiRateThrottle(UserRateThrottle):
    """Per user (by id: ninja's AuthRateThrottle would key on the user's name),
    ``VISAGE_API_RATE`` calls, e.g. "1200/m". The rate is read from the settings at each
    call, not once when the API is built, so a changed setting applies at once."""

    def __init__(self) -> None:
        super().__init__(settings.VISAGE_API_RATE)

    def allow_request(self, request: HttpRequest) -> bool:
        if self.rate != settings.VISAGE_API_RATE:
            self.rate = settings.VISAGE_API_RATE
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


def throttles() -> list[UserRateThrottle]:
    return [ApiRateThrottle()]


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=200, description="How many results, 1-200.")
    offset: int = Field(0, ge=0, description="How many results to skip.")


def page_of(items, count: int, query: PageQuery, shown=lambda item: item) -> dict:
    """One page of ``items`` (a queryset or list of ``count`` things), each ``shown``."""
    end = query.offset + query.limit
    return {"count": count, "next_offset": end if end < count else None,
            "results": [shown(item) for item in items[query.offset : end]]}


class Page(PaginationBase):
    """``?limit=&offset=``; answers ``count`` (all matches), ``next_offset`` (null on the
    last page) and ``results``."""

    Input = PageQuery

    class Output(Schema):
        count: int
        next_offset: int | None
        results: list[Any]

    items_attribute = "results"

    def paginate_queryset(self, queryset, pagination: PageQuery, request: HttpRequest, **params):
        return page_of(queryset, self._items_count(queryset), pagination)


class ErrorOut(Schema):
    """Every refusal has this body, whatever the status."""

    error: str
    fields: list[dict] | None = Field(None, description="For invalid input: which parameter and why.")


# The answers every endpoint may give besides its own, listed in the schema.
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut}


def responses(ok: Any, status: int = 200, *also: int) -> dict:
    """An operation's ``response=``: its own answer, the shared error bodies, and the
    error statuses ``also`` that only this operation gives (such as 422)."""
    return {status: ok, **ERRORS, **{code: ErrorOut for code in also}}


class JobOut(Schema):
    """A background job (a grouping run, a face map, a retraining run, a model switch) as
    its page's progress bar shows it."""

    status: str = Field(description="queued, running, done or failed (failed also when its worker stopped); "
                                    "a retraining run also finished, promoted, discarded or cancelled")
    percent: int
    message: str
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def job_out(job) -> dict:
    """``job`` (a webapp.core.jobs.Job) as JobOut."""
    return {
        "status": "failed" if job.has_failed else job.status, "message": job.message, "error": job.failure if job.has_failed else "",
        "percent": round(100 * job.progress_done / job.progress_total) if job.progress_total else (100 if job.status == job.Status.DONE else 0),
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }

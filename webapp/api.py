"""The JSON API at /api/v1/ (docs/api.md), put together from each app's router.

Its OpenAPI 3 schema is generated from the routers' type hints and docstrings and served
at /api/v1/openapi.json, with a browsable page at /api/v1/docs."""
from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from webapp.core.apikit import AUTH, ApiError, throttles
from webapp.core.tokens import TokenError
from webapp.faces import photo_api
from webapp.faces.drawn import DrawError
from webapp.people import api as people_api
from webapp.people import jobs_api as people_jobs_api
from webapp.people import metadata_api
from webapp.people.metadata_export import ExportError
from webapp.people.services import EditError
from webapp.photos import api as photos_api
from webapp.photos.libraries import LibraryError
from webapp.photos.services import AlbumError
from webapp.photos.validation import UploadRejected
from webapp.photos.zipfiles import ZipRejected
from webapp.search import api as search_api
from webapp.search.services import QueryError
from webapp.training import api as training_api
from webapp.training.runs import RunRefused
from webapp.training.switching import SwitchRefused

api = NinjaAPI(
    title="Visage API",
    version="1",
    description="Find, group and name the people in your photos. Sign in with a personal token "
                "(`Authorization: Bearer vsg_…`, made on your Settings page), HTTP Basic, or the "
                "browser session (writes then need the CSRF token). Every id is your own: another "
                "user's answers 404 like a missing one.",
    urls_namespace="api",
    auth=AUTH,
    throttle=throttles(),
)
api.add_router("", photos_api.router)
api.add_router("", photo_api.router)
api.add_router("", search_api.router)
api.add_router("", people_api.router)
api.add_router("", people_jobs_api.router)
api.add_router("", metadata_api.router)
api.add_router("", training_api.router)

# The apps' own refusals, each answered with the one error body (apikit.ErrorOut).
REFUSALS = (ApiError, QueryError, EditError, DrawError, AlbumError, LibraryError, UploadRejected, ZipRejected, TokenError,
            ExportError)


def _error(request: HttpRequest, message: str, status: int, **more):
    return api.create_response(request, {"error": message, **more}, status=status)


# Where ninja says a bad value came from; the parameter's own name is what a caller knows.
_SOURCES = {"body", "query", "path", "form", "file", "header", "cookie"}


def _field(location) -> str:
    parts = [str(part) for part in location]
    while parts and parts[0] in _SOURCES:
        parts.pop(0)
    return ".".join(parts)


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    fields = [{"field": _field(error.get("loc", ())), "message": error.get("msg", "")} for error in exc.errors]
    first = fields[0] if fields else {"field": "", "message": "invalid input"}
    return _error(request, f"'{first['field']}': {first['message']}", 400, fields=fields)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = _error(request, "Authentication required: a token (Bearer), a password (Basic) or a session.", 401)
    response["WWW-Authenticate"] = 'Basic realm="Visage"'
    return response


@api.exception_handler(Throttled)
def _throttled(request, exc: Throttled):
    response = _error(request, "Too many requests: wait a little and try again.", 429)
    if exc.wait:
        response["Retry-After"] = str(int(exc.wait) + 1)
    return response


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    message = "CSRF check failed." if exc.status_code == 403 and "CSRF" in str(exc) else str(exc)
    return _error(request, message, exc.status_code)


# Refused for the state things are in, not for the input.
CONFLICTS = (RunRefused, SwitchRefused)


def _refused(request, exc):
    response = _error(request, str(exc), 409 if isinstance(exc, CONFLICTS) else getattr(exc, "status", 400))
    if getattr(exc, "retry_after_s", None):
        response["Retry-After"] = str(exc.retry_after_s)
    return response


for refusal in REFUSALS + CONFLICTS:
    api.add_exception_handler(refusal, _refused)


def api_urls():
    """The API's URL patterns, exempt from the pages' login redirect: the API answers
    401 JSON itself, and a token or password request has no session to redirect."""
    patterns, app_name, _namespace = api.urls
    for pattern in patterns:
        pattern.callback.login_required = False
    return patterns, app_name

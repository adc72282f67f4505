"""Every endpoint of the API is documented: each URL pattern of the "api" namespace (read
from the resolver, so a new endpoint fails here until it is) and each method it answers
is in /api/v1/openapi.json, with a description from its docstring, a 2xx answer with a
schema and the shared error answers; the docs page shows them in a real browser, from
the app's own static files (no network); and every /api/v1/ path in docs/api.md exists."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
SHARED_ERRORS = {"400", "401", "403", "404", "429"}
SCHEMA_PAGES = {"openapi-json", "openapi-view", "api-root"}  # ninja's own: the schema, the docs page, the root
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def api_routes() -> set[str]:
    """The OpenAPI form (/api/v1/albums/{album_id}) of every route of the "api" namespace."""
    routes = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "api":
            for pattern in entry.url_patterns:
                assert isinstance(pattern, URLPattern)
                if pattern.name not in SCHEMA_PAGES:
                    route = f"/{entry.pattern}{pattern.pattern}"
                    routes.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return routes


@pytest.fixture
def schema(db) -> dict:
    answer = Client().get("/api/v1/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def allowed_methods(client, route: str) -> set[str]:
    """The methods a route answers: unauthenticated, an allowed one is 401, another 405."""
    url = re.sub(r"\{\w+\}", "1", route)
    answers = {method: getattr(client, method)(url).status_code for method in METHODS}
    assert set(answers.values()) <= {401, 405}, (route, answers)
    return {method for method, status in answers.items() if status == 401}


def test_every_endpoint_and_method_is_in_the_schema(schema):
    routes = api_routes()
    assert len(routes) >= 15 and "/api/v1/albums/{album_id}/photos" in routes
    client = Client()
    for route in sorted(routes):
        assert route in schema["paths"], f"{route} is not in the OpenAPI schema"
        methods = allowed_methods(client, route)
        assert methods == set(schema["paths"][route]), (route, methods, set(schema["paths"][route]))


def test_every_operation_is_described_with_its_answers(schema):
    for route, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {route}"
            assert operation.get("summary") and operation.get("description", "").strip(), f"{where}: no docstring"
            answers = operation["responses"]
            ok = [code for code in answers if code.startswith("2")]
            assert ok, f"{where}: no 2xx answer"
            # JSON, or a file of a named type (a metadata download) whose schema says binary.
            assert all(all(body.get("schema") for body in answers[code]["content"].values()) for code in ok), where
            assert SHARED_ERRORS <= set(answers), f"{where}: lacks the shared errors {SHARED_ERRORS - set(answers)}"
            for code in set(answers) - set(ok):
                assert answers[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}, where
            assert operation.get("security"), f"{where}: no authentication listed"


def guide_paths() -> set[str]:
    """The /api/v1/ paths docs/api.md names, a shell variable or <id> standing for an id."""
    segment = r"(?:[\w.{}<>-]+|\$\w+)"
    found = re.findall(rf"/api/v1(?:/{segment})+", GUIDE.read_text())
    return {re.sub(r"\$\w+|<\w+>", "7", path) for path in found}


def test_every_api_path_in_the_guide_exists(schema):
    mentioned = guide_paths()
    assert {"/api/v1/albums/7/photos", "/api/v1/photos", "/api/v1/libraries/7/scan"} <= mentioned
    templates = [re.compile("^" + re.sub(r"\\\{\w+\\\}", r"[^/]+", re.escape(path)) + "$") for path in schema["paths"]]
    for path in mentioned - {"/api/v1/docs", "/api/v1/openapi.json"}:
        assert any(template.match(path) for template in templates), f"docs/api.md names {path}, not in the API"


def test_the_docs_page_files_are_served_by_the_app_itself(db):
    """Swagger UI's files come from ninja's static folder through WhiteNoise, as in `make
    run` (collected or, without collectstatic, from the app folders): no CDN."""
    page = Client().get("/api/v1/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.content.decode())
    assert assets and all(asset.startswith("/static/") for asset in assets), assets
    for asset in assets:
        answer = Client().get(asset)
        assert answer.status_code == 200 and int(answer["Content-Length"]) > 100, asset

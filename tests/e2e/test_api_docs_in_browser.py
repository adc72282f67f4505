"""The API's docs page (/api/v1/docs) in headless Chromium: Swagger UI from the app's own
static files (ninja's, served by WhiteNoise as in `make run`), with every operation of
the schema listed, and no request leaving the server."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import VIEWPORTS, page_of_size, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_docs_page_lists_the_operations(browser, live_server):
    import json
    import urllib.request

    with urllib.request.urlopen(live_server.url + "/api/v1/openapi.json") as answer:
        schema = json.loads(answer.read())
    operations = sum(len(methods) for methods in schema["paths"].values())
    width, height = VIEWPORTS["desktop"]
    with page_of_size(browser, width, height) as page:
        elsewhere = []
        page.on("request", lambda request: None if request.url.startswith(live_server.url) else elsewhere.append(request.url))
        page.goto(live_server.url + "/api/v1/docs")
        page.wait_for_selector(".opblock")
        assert page.locator(".opblock").count() == operations
        assert "Visage API" in page.inner_text(".info")
        assert page.locator(".opblock-summary-path", has_text="/api/v1/albums/{album_id}/photos").count() == 1
        assert not elsewhere, elsewhere
        screenshot(page, "api-docs-desktop")

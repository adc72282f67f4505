"""The Settings page of API tokens in headless Chromium, on a laptop and a phone: reached
from the top bar, a token made (its secret shown once, with a copy button), used from a
script (Bearer) to read and write through the API, listed as used, revoked in the page,
and then refused with 401. Another user sees none of it."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, inside, page_of_size, screenshot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def call(live_server, path: str, secret: str, body: dict | None = None) -> tuple[int, dict]:
    """What a script does: one request with the token, no cookie, no CSRF token."""
    request = urllib.request.Request(live_server.url + path, headers={"Authorization": f"Bearer {secret}"},
                                     data=json.dumps(body).encode() if body is not None else None,
                                     method="POST" if body is not None else "GET")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_token_is_made_used_and_revoked(browser, live_server):
    make_user("erin", password=PASSWORD, is_staff=True)  # staff: the longest top bar, with Face model and Admin
    make_user("frank", password=PASSWORD)
    width, height = VIEWPORTS["desktop"]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "erin")
        page.click("#main-nav >> text=Settings")
        page.wait_for_url("**/settings/tokens/")
        assert "No tokens yet." in page.inner_text("main")
        for item in ("#main-nav >> text=Settings", "#main-nav >> text=Admin", ".logout button"):
            assert inside(page.locator(item).bounding_box(), width, 60), item  # one row of the top bar
        page.click("text=Make a token")  # no name: the browser asks for one
        assert page.url.endswith("/settings/tokens/") and page.locator("[data-testid=new-token]").count() == 0
        page.fill("#token-name", "backup script")
        page.click("text=Make a token")
        shown = page.locator("[data-testid=new-token]")
        assert "shown only this once" in shown.inner_text()
        secret = page.input_value("#token-secret")
        assert secret.startswith("vsg_") and len(secret) > 40
        assert inside(page.locator("#token-copy").bounding_box(), width, height)
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        page.click("#token-copy")
        # The label changes once the clipboard write resolves (asynchronous): wait for it.
        page.wait_for_selector("#token-copy:text-is('Copied')", timeout=5000)
        assert page.evaluate("navigator.clipboard.readText()") == secret
        screenshot(page, "tokens-made-desktop")

        status, album = call(live_server, "/api/v1/albums", secret, {"name": "Made by a script"})
        assert status == 201 and album["name"] == "Made by a script"
        status, albums = call(live_server, "/api/v1/albums", secret)
        assert status == 200 and albums["count"] == 1

        page.goto(live_server.url + "/settings/tokens/")  # the secret is not shown again
        assert secret not in page.content()
        row = page.locator("[data-testid=token]", has_text="backup script")
        assert secret[:10] in row.inner_text() and "last used" in row.inner_text()
        screenshot(page, "tokens-list-desktop")

    width, height = VIEWPORTS["phone"]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "frank")
        page.goto(live_server.url + "/settings/tokens/")
        assert "No tokens yet." in page.inner_text("main")  # erin's token is hers only
        status, _ = call(live_server, "/api/v1/albums", "vsg_" + "x" * 43)
        assert status == 401

    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "erin")
        page.click("text=Menu")
        page.click("#main-nav >> text=Settings")
        page.wait_for_url("**/settings/tokens/")
        revoke = page.locator("[data-testid=token] button", has_text="Revoke")
        assert inside(revoke.bounding_box(), width, height)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, "tokens-list-phone")
        revoke.click()
        page.wait_for_selector("text=Token revoked")
        assert "No tokens yet." in page.inner_text("main")
        screenshot(page, "tokens-revoked-phone")
    status, body = call(live_server, "/api/v1/albums", secret)
    assert status == 401 and body["error"].startswith("Authentication required")

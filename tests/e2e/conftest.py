"""A real browser (Debian's Chromium driven by Playwright) against a live server."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import require_program

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_program("chromium")


@pytest.fixture(scope="module")
def browser(chromium_path, allow_orm_beside_playwright):
    """One browser per module: Playwright's event loop must be gone before other tests
    touch the database from this thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module", autouse=True)
def allow_orm_beside_playwright():
    """Playwright's sync API runs an event loop in the test thread; the ORM calls made
    around it are ordinary synchronous ones. Only for these modules, never in deployment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
    context.close()


# The two screens every page must work on: a laptop and a phone.
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


@contextmanager
def page_of_size(browser, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


def inside(box, width: int, height: int) -> bool:
    """Whether an element's bounding box lies wholly inside the viewport (seen without scrolling)."""
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


PASSWORD = "a long enough password"


def sign_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def import_photos(owner, album_name: str, paths) -> list[int]:
    """Store and process photos through the services, as an import would: the set-up of
    a library a browser test then works on. Returns the photo ids in the order given."""
    from webapp.faces.services import photo_process
    from webapp.photos.services import album_create, photo_ingest

    album = album_create(owner=owner, name=album_name)
    ids = []
    for path in paths:
        with open(path, "rb") as handle:
            ids.append(photo_ingest(owner=owner, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    return ids


def tick(page, face_ids) -> None:
    """Select faces in a selectable grid by clicking their checkboxes, as a user does."""
    for face_id in face_ids:
        page.click(f"input[name=face_ids][value='{face_id}']")

"""The user's word on faces in a real browser, on a laptop and on a phone: draw a box round a
face the detector missed on a real photo, name it, and find the name on that face on the
photo page and on the person's page; say a face is not a face, see its box go, and bring
it back with the message's Undo."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, import_photos, inside, page_of_size, screenshot, sign_in
from webapp.faces.models import Face
from webapp.people.models import Person

pytestmark = pytest.mark.django_db(transaction=True)


def drag_box(page, photo_width: int, box) -> None:
    """Drag with the mouse from one corner of ``box`` (photo pixels) to the other."""
    frame = page.locator("#boxes").bounding_box()
    scale = frame["width"] / photo_width
    x0, y0 = frame["x"] + box[0] * scale, frame["y"] + box[1] * scale
    x1, y1 = frame["x"] + box[2] * scale, frame["y"] + box[3] * scale
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
    page.mouse.move(x1, y1, steps=4)
    page.mouse.up()


@pytest.mark.parametrize("screen", VIEWPORTS)
def test_draw_a_face_name_it_then_not_a_face_and_undo(browser, live_server, albums_dir, screen):
    width, height = VIEWPORTS[screen]
    user = make_user(f"wendy-{screen}", password=PASSWORD)
    (photo_id,) = import_photos(user, "BBT", [albums_dir / "bbt" / "bbt1.jpg"])
    faces = list(Face.objects.filter(photo_id=photo_id).order_by("box_x0"))
    assert len(faces) == 4
    missed, other = faces[2], faces[0]
    Face.objects.filter(pk=missed.pk).delete()  # as if the detector had not found it
    photo_width = missed.photo.width

    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, user.username)
        page.goto(f"{live_server.url}/photos/{photo_id}/")
        assert page.locator("rect.facebox:not(.new)").count() == 3
        page.click("#add-face")
        assert page.locator("#draw-hint").is_visible()
        x0, y0, x1, y1 = missed.box
        pad = 0.08 * (x1 - x0)  # a person's box, a little looser than the detector's
        drag_box(page, photo_width, (x0 - pad, y0 - pad, x1 + pad, y1 + pad))
        name = page.locator("#add-face-form input[name=name]")
        assert name.is_visible() and inside(name.bounding_box(), width, height)
        assert page.locator("#new-box").is_visible()
        name.fill("Howard")
        screenshot(page, f"50-face-drawn-{screen}")
        page.click("#add-face-form button[type=submit]")
        page.wait_for_selector("text=Added a face named Howard.")

        drawn = Face.objects.get(photo_id=photo_id, source=Face.Source.DRAWN)
        assert drawn.box == pytest.approx((x0 - pad, y0 - pad, x1 + pad, y1 + pad), abs=2 / (page.locator("#boxes").bounding_box()["width"] / photo_width))
        assert drawn.detection_score > 0.9
        tile = page.locator(f"li.face[data-box='box-{drawn.pk}']")
        assert tile.locator(".face-name").inner_text() == "Howard"
        assert "drawn by you" in tile.inner_text()
        assert page.locator(f"#box-{drawn.pk}").is_visible()
        screenshot(page, f"51-face-named-{screen}")

        howard = Person.objects.get(owner=user, name="Howard")
        page.goto(f"{live_server.url}/people/{howard.pk}/")
        assert page.inner_text("h1") == "Howard"
        assert page.locator(f"img[src$='/faces/{drawn.pk}/thumbnail.jpg']").is_visible()
        screenshot(page, f"52-face-person-{screen}")

        page.goto(f"{live_server.url}/photos/{photo_id}/")
        page.locator(f"li.face[data-box='box-{other.pk}'] button.not-a-face").click()
        page.wait_for_selector("text=Marked as not a face.")
        assert page.locator(f"#box-{other.pk}").count() == 0
        assert page.locator(f"li.face[data-box='box-{other.pk}']").count() == 0
        assert "3 faces" in page.inner_text("main p.muted")
        undo = page.locator(".messages button:has-text('Undo')")
        assert undo.is_visible() and inside(undo.bounding_box(), width, height)
        screenshot(page, f"53-not-a-face-{screen}")
        undo.click()
        page.wait_for_selector("text=Undone: Marked a face in bbt1.jpg as not a face.")
        assert page.locator(f"#box-{other.pk}").count() == 1
        assert page.locator(f"li.face[data-box='box-{other.pk}']").count() == 1
        assert "4 faces" in page.inner_text("main p.muted")
        screenshot(page, f"54-not-a-face-undone-{screen}")


def test_a_finger_draws_a_box_on_a_phone(browser, live_server, albums_dir):
    """Touch, as a phone sends it (Chromium's touch events, turned into pointer events):
    the drag draws the box instead of scrolling the page, and the face is saved unnamed."""
    width, height = VIEWPORTS["phone"]
    user = make_user("tess", password=PASSWORD)
    (photo_id,) = import_photos(user, "BBT", [albums_dir / "bbt" / "bbt1.jpg"])
    missed = Face.objects.filter(photo_id=photo_id).order_by("box_x0")[1]
    Face.objects.filter(pk=missed.pk).delete()
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        sign_in(page, live_server, user.username)
        page.goto(f"{live_server.url}/photos/{photo_id}/")
        page.click("#add-face")
        frame = page.locator("#boxes").bounding_box()
        scale = frame["width"] / missed.photo.width
        (x0, y0), (x1, y1) = [(frame["x"] + x * scale, frame["y"] + y * scale) for x, y in (missed.box[:2], missed.box[2:])]
        scrolled = page.evaluate("window.scrollY")
        cdp = context.new_cdp_session(page)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
        for step in range(1, 6):
            point = {"x": x0 + (x1 - x0) * step / 5, "y": y0 + (y1 - y0) * step / 5}
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        assert page.evaluate("window.scrollY") == scrolled
        assert page.locator("#add-face-form input[name=name]").is_visible()
        screenshot(page, "55-face-drawn-by-touch-phone")
        page.click("#add-face-form button[type=submit]")
        page.wait_for_selector("text=Added a face.")
        drawn = Face.objects.get(photo_id=photo_id, source=Face.Source.DRAWN)
        assert drawn.person is None and drawn.box == pytest.approx(missed.box, abs=2 / scale)
        assert page.locator(f"li.face[data-box='box-{drawn.pk}'] .face-name").inner_text() == "Unsorted"
    finally:
        context.close()

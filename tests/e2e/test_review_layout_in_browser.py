"""What a person sees first on the review queue and on a phone: the question and its
answers on screen without scrolling, faces at a sane size, a top bar that fits."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, import_photos, inside, page_of_size, screenshot, sign_in
from webapp.faces.models import Face
from webapp.people import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def suggestions(albums_dir):
    user = make_user("gil", password=PASSWORD)
    bbt = albums_dir / "bbt"
    ids = import_photos(user, "BBT", [bbt / "bbt1.jpg", bbt / "bbt3.jpg", bbt / "bbt4.jpg", bbt / "bbt5.jpg",
                                      *sorted((bbt / "characters" / "penny").iterdir()),
                                      *sorted((bbt / "characters" / "sheldon").iterdir())])
    for who in ("penny", "sheldon"):
        crops = Face.objects.filter(owner=user, photo__original_name__startswith=who).values_list("pk", flat=True)
        services.faces_name(owner=user, face_ids=list(crops), name=who.title())
    open_count = Face.objects.filter(owner=user, person_state="auto", person__name__gt="").count()
    assert open_count >= 2, "naming the crops should leave suggestions to review"
    return user, ids, open_count


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_focused_review_card_shows_question_face_and_answers_on_screen(browser, live_server, suggestions, viewport):
    width, height = VIEWPORTS[viewport]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "gil")
        page.goto(live_server.url + "/people/review/")
        card = page.wait_for_selector(".review-card")
        page.focus(".review-card")
        focused = page.locator(".review-card:focus")
        question = focused.locator(".question strong")
        assert question.inner_text().startswith(("Is this ", "Are these ")) and question.inner_text().endswith("?")
        for part in (question, focused.locator("button.yes"), focused.locator("button.no"), focused.locator("img.face").first):
            assert inside(part.bounding_box(), width, height), f"{viewport}: {part} is off screen"
        face_box = focused.locator("img.face").first.bounding_box()
        assert 110 <= face_box["width"] <= 224, f"face shown {face_box['width']} px wide"
        shown = focused.locator("img.face").count()
        assert focused.locator(".context img").count() == shown, "each face's photo is shown for context"
        if shown > 1:  # a bundle: untick one face, and the answer confirms only the others
            focused.locator("input[name=face_ids]").first.uncheck()
        # Many faces per screen, not one upscaled crop per screen.
        on_screen = [c for c in page.query_selector_all(".review-card img.face") if inside(c.bounding_box(), width, height)]
        assert len(on_screen) >= (6 if viewport == "desktop" else 2)
        assert card is not None
        screenshot(page, f"12-review-queue-{viewport}")
        page.keyboard.press("y")  # the keyboard flow is unchanged
        page.wait_for_selector("text=/Confirmed \\d+/")


def test_the_top_bar_fits_a_phone_and_opens_as_a_menu(browser, live_server, suggestions):
    width, height = VIEWPORTS["phone"]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "gil")
        page.goto(live_server.url + "/people/")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
        assert not page.is_visible("text=Sign out")
        menu = page.locator("button.menu-toggle")
        assert inside(menu.bounding_box(), width, height)
        screenshot(page, "13-phone-top-bar-closed")
        menu.click()
        for label in ("Same person?", "Who is this?", "Sign out"):
            link = page.locator(f".topbar >> text={label}")
            assert link.is_visible() and inside(link.bounding_box(), width, height), f"{label} is off screen"
        assert inside(page.locator(".topbar input[type=search]").bounding_box(), width, height)
        screenshot(page, "14-phone-top-bar-open")
        page.click(".topbar >> text=Same person?")
        page.wait_for_url("**/verify/**")

""" "Are these the same person?" on the review page, on a laptop and a phone: faces of both
people side by side with the answers, and "No" ends the question for good."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, import_photos, inside, page_of_size, screenshot, sign_in
from webapp.faces.models import Face
from webapp.people import services
from webapp.people.models import PersonDistinction

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def split_sheldon(albums_dir):
    """Sheldon's five photos as two people (three named, two not) beside Penny's."""
    user = make_user("jon", password=PASSWORD)
    characters = albums_dir / "bbt" / "characters"
    ids = import_photos(user, "BBT", [*sorted((characters / "sheldon").iterdir()), *sorted((characters / "penny").iterdir())])
    faces = [max(Face.objects.filter(photo_id=pid), key=lambda f: f.box_width).pk for pid in ids]
    sheldon = services.faces_move(owner=user, face_ids=faces[:3], name="Sheldon")
    other = services.faces_move(owner=user, face_ids=faces[3:5], name="")
    services.faces_move(owner=user, face_ids=faces[5:], name="Penny")
    return sheldon, other


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_pair_shows_both_peoples_faces_side_by_side_and_no_ends_it(browser, live_server, split_sheldon, viewport):
    sheldon, other = split_sheldon
    width, height = VIEWPORTS[viewport]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "jon")
        page.goto(live_server.url + "/people/review/")
        cards = page.locator(".pair-card")
        assert cards.count() == 1, "only the split person is asked about, not Sheldon and Penny"
        card = cards.first
        card.scroll_into_view_if_needed()
        assert f"Sheldon and {other}" in card.locator(".pair-question").inner_text()
        assert "% likely one person" in card.locator(".pair-question").inner_text()
        people = card.locator(".pair-person")
        assert [people.nth(i).locator("img").count() for i in range(2)] == [3, 2]
        # The whole card (faces of both, the answers) fits on one screen, faces at a size to judge.
        assert card.bounding_box()["height"] <= height
        card.evaluate("c => c.scrollIntoView({block: 'start'})")
        for face in card.locator("img").all():
            box = face.bounding_box()
            assert face.evaluate("img => img.complete && img.naturalWidth > 0")
            assert inside(box, width, height) and (96 if viewport == "desktop" else 64) <= box["width"] <= 160, box
        for button in ("button.yes", "button.no"):
            assert inside(card.locator(button).bounding_box(), width, height)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"15-same-person-pair-{viewport}")
        card.locator("button.no").click()
        page.wait_for_selector("text=You won't be asked about them again.")
        assert page.locator(".pair-card").count() == 0
        assert PersonDistinction.objects.filter(first_id=min(sheldon.pk, other.pk), second_id=max(sheldon.pk, other.pk)).exists()
        page.reload()
        assert page.locator(".pair-card").count() == 0

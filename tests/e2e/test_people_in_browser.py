"""People pages in a real browser: shift-click selection, naming from the toolbar, the
review queue's keyboard, and undo."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import screenshot, sign_in
from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.models import Person
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db(transaction=True)


def test_name_with_shift_click_review_with_keys_and_undo(page, live_server, albums_dir):
    user = make_user("fran", password="a long enough password")
    album = album_create(owner=user, name="BBT")
    ids = []
    for path in [albums_dir / "bbt" / "bbt3.jpg", *sorted((albums_dir / "bbt" / "characters" / "penny").iterdir())]:
        with path.open("rb") as handle:
            ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    penny_crops = sorted(Face.objects.filter(photo_id__in=ids[1:]).values_list("pk", flat=True))

    sign_in(page, live_server, "fran")
    page.goto(live_server.url + "/people/unsorted/")
    boxes = {int(b.get_attribute("value")): b for b in page.query_selector_all("input[name=face_ids]")}
    ordered = [int(b.get_attribute("value")) for b in page.query_selector_all("input[name=face_ids]")]
    positions = sorted(ordered.index(pk) for pk in penny_crops)
    assert positions == list(range(positions[0], positions[0] + 5))  # the crops sit together
    boxes[ordered[positions[0]]].click()
    boxes[ordered[positions[-1]]].click(modifiers=["Shift"])
    assert page.inner_text("[data-count]") == "5 selected"
    page.fill(".toolbar input[name=name]", "Penny")
    page.click(".toolbar button[value=name]")
    page.wait_for_selector("text=Named 5 face(s) Penny.")
    penny = Person.objects.get(owner=user, name="Penny")
    assert sorted(penny.faces.filter(person_state="confirmed").values_list("pk", flat=True)) == penny_crops
    suggestion = Face.objects.get(photo_id=ids[0], person=penny)
    assert suggestion.person_state == "auto"

    page.goto(live_server.url + "/people/review/")
    page.wait_for_selector(".review-card")
    screenshot(page, "10-review-queue")
    page.focus(".review-card")
    page.keyboard.press("y")
    page.wait_for_selector("text=Nothing to review")
    suggestion.refresh_from_db()
    assert suggestion.person_state == "confirmed"

    page.goto(live_server.url + "/people/")
    page.click("button:has-text('Undo')")
    page.wait_for_selector("text=Undone: Confirmed 1 suggestion(s).")
    suggestion.refresh_from_db()
    assert suggestion.person_state == "auto"
    screenshot(page, "11-people-after-undo")

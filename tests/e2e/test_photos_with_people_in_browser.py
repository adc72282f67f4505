"""'Photos with Sheldon and Penny' in a real browser, on a laptop and a phone: from
Sheldon's page to his photos, Penny added from the list, the photos they share on
screen, and one of them taken away again with its ×."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, import_photos, inside, page_of_size, screenshot, sign_in
from tests.samples import BBT_GROUP_PHOTOS
from webapp.faces.models import Face
from webapp.people.services import faces_name

pytestmark = pytest.mark.django_db(transaction=True)

# Three photos are enough here: Sheldon is in all three, Penny in two of them.
GROUP_PHOTOS = {name: who for name, who in BBT_GROUP_PHOTOS.items() if name != "bbt2.jpg"}


def tiles(page) -> list[str]:
    return sorted(page.locator("#photo-grid .caption span:first-child").all_inner_texts())


@pytest.mark.parametrize("screen", VIEWPORTS)
def test_photos_with_two_people(browser, live_server, albums_dir, screen):
    width, height = VIEWPORTS[screen]
    user = make_user(f"pat-{screen}", password=PASSWORD)
    ids = import_photos(user, "BBT", [albums_dir / "bbt" / name for name in GROUP_PHOTOS])
    faces_of: dict[str, list[int]] = {}
    for photo_id, who in zip(ids, GROUP_PHOTOS.values()):
        for face, character in zip(sorted(Face.objects.filter(photo_id=photo_id), key=lambda f: f.box_x0 + f.box_x1), who):
            faces_of.setdefault(character, []).append(face.pk)
    people = {c: faces_name(owner=user, face_ids=f, name=c.title()) for c, f in faces_of.items()}

    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, user.username)
        page.goto(f"{live_server.url}/people/{people['sheldon'].pk}/")
        page.click("text=Photos of Sheldon")
        page.wait_for_selector("h1:has-text('Photos with Sheldon')")
        assert tiles(page) == ["bbt1.jpg", "bbt3.jpg", "bbt5.jpg"]

        page.select_option("select[name=with]", label="Penny")
        page.click("button:has-text('Add')")
        page.wait_for_selector("h1:has-text('Photos with Sheldon and Penny')")
        assert tiles(page) == ["bbt3.jpg", "bbt5.jpg"]
        assert "2 photos with Sheldon and Penny" in page.inner_text("main")
        # What a person sees first: the title, who is chosen, and the first photo.
        for selector in ("h1", ".chips", "#photo-grid li >> nth=0"):
            assert inside(page.locator(selector).bounding_box(), width, height), selector
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing scrolls sideways
        screenshot(page, f"60-photos-with-two-{screen}")

        page.click("[aria-label='Without Sheldon']")
        page.wait_for_selector("h1:has-text('Photos with Penny')")
        assert tiles(page) == ["bbt3.jpg", "bbt5.jpg"]
        assert page.locator("[aria-label^='Without']").count() == 0  # the last one chosen stays
        screenshot(page, f"61-photos-with-one-{screen}")

""" "Same person?" in a real browser, on a laptop and on a phone: face A clicked in the
library (a person, then one of their faces), face B clicked among the faces of an uploaded
group photo; the two compared faces, the verdict and what it stands for on screen."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, VIEWPORTS, import_photos, inside, page_of_size, screenshot, sign_in
from webapp.faces.models import Face
from webapp.people import services

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = {"biden": "Joe Biden", "obama": "Barack Obama"}


@pytest.fixture
def library(albums_dir):
    user = make_user("ines", password=PASSWORD)
    train = albums_dir / "obama_biden" / "train"
    paths = {folder: sorted((train / folder).iterdir()) for folder in (*NAMES, "kit_harington")}
    ids = import_photos(user, "Train", [p for folder in paths for p in paths[folder]])
    photo_of = dict(zip([p for folder in paths for p in paths[folder]], ids))
    for folder, name in NAMES.items():  # each photo's largest face is the person it is of
        faces = [max(Face.objects.filter(photo_id=photo_of[p]), key=lambda f: f.box_width).pk for p in paths[folder]]
        services.faces_name(owner=user, face_ids=faces, name=name)
    return user


# On the laptop B is Obama (the middle face of the photo), on the phone Biden (the left one).
@pytest.mark.parametrize("viewport, candidate, verdicts", [
    ("desktop", 1, {"Different people"}),
    ("phone", 0, {"Same person", "Very likely the same person"}),
])
def test_pick_a_library_face_and_a_face_of_a_group_photo_then_see_the_verdict(browser, live_server, library, albums_dir, viewport, candidate, verdicts):
    width, height = VIEWPORTS[viewport]
    with page_of_size(browser, width, height) as page:
        sign_in(page, live_server, "ines")
        page.goto(live_server.url + "/verify/")
        assert page.locator("input[type=number]").count() == 0, "no face ids to type"
        assert page.inner_text("#picker-title") == "Choose face A"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
        screenshot(page, f"40-verify-picker-{viewport}")

        # A: open Joe Biden, click his first face.
        page.click(".picker button.pick:has-text('Joe Biden')")
        page.wait_for_selector(".picker button.link-button")  # ← All people: inside Joe Biden's faces
        chosen = page.locator(".picker button[name=choose]").first
        face_a = int(chosen.get_attribute("value").split(":")[1])
        chosen.click()
        page.wait_for_selector("#picker-title:text-is('Choose face B')")
        assert page.inner_text(".side[data-side=a] figcaption") == "Face A: Joe Biden"
        assert page.get_attribute(".side[data-side=a] img.compared", "src") == f"/faces/{face_a}/thumbnail.jpg"

        # B: a photo of Biden, Obama and a child; choosing the file shows its three faces to click.
        page.set_input_files(".picker input[type=file]", str(albums_dir / "obama_biden" / "test" / "obama_and_biden.jpg"))
        page.wait_for_selector(".candidates button.pick")
        crops = page.locator(".candidates button.pick img")
        assert crops.count() == 3
        assert page.inner_text(".candidates-title") == "3 faces in that photo: click the one to compare."
        assert all(crops.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(3))
        assert inside(crops.first.bounding_box(), width, height), "the photo's faces are off screen"
        screenshot(page, f"41-verify-photo-faces-{viewport}")
        crops.nth(candidate).click()

        # The answer: both faces large enough to judge, the verdict, what it stands for and
        # the probability, all on screen without scrolling.
        page.wait_for_selector(".comparison .answer h2")
        screenshot(page, f"42-verify-answer-{viewport}")
        assert page.locator("#picker-title").count() == 0
        assert page.inner_text(".answer h2") in verdicts
        assert page.inner_text(".side[data-side=b] figcaption") == f"Face B: from your photo, face {candidate + 1} of 3"
        for side in ("a", "b"):
            face = page.locator(f".side[data-side={side}] img.compared")
            box = face.bounding_box()
            assert face.evaluate("img => img.complete && img.naturalWidth > 0")
            assert inside(box, width, height) and 150 <= box["width"] <= 224 and 150 <= box["height"] <= 224, (side, box)
            assert inside(page.locator(f".side[data-side={side}] button.change").bounding_box(), width, height)
        a, b = (page.locator(f".side[data-side={s}] img.compared").bounding_box() for s in ("a", "b"))
        assert abs(a["y"] - b["y"]) < 1 and a["x"] + a["width"] <= b["x"], "the two faces side by side"
        detail, probability = page.inner_text(".answer .detail"), page.inner_text(".answer .probability")
        assert detail.split(":")[0] in {"Almost certainly one person", "Very likely one person", "Not sure", "Most likely two people"}
        assert " pairs of different people " in detail, "the detail says the false-accept rate the verdict stands for"
        assert probability.startswith("Chance that these two faces are one person: ") and probability.endswith("%")
        for part in (".answer h2", ".answer .detail", ".answer .probability"):
            assert inside(page.locator(part).bounding_box(), width, height), f"{viewport}: {part} is off screen"
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        # Change B: A stays, the picker is back for B.
        page.click(".side[data-side=b] button.change")
        page.wait_for_selector("#picker-title:text-is('Choose face B')")
        assert page.get_attribute(".side[data-side=a] img.compared", "src") == f"/faces/{face_a}/thumbnail.jpg"

"""Who is this? in a real browser: name people from the unsorted pool, then ask about a
photo that is not in the library and read the names the page gives its faces."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, import_photos, screenshot, sign_in, tick
from webapp.faces.models import Face
from webapp.people.models import Person
from webapp.photos.models import Photo

pytestmark = pytest.mark.django_db(transaction=True)

TRAIN = {"obama": "Barack Obama", "biden": "Joe Biden", "kit_harington": None}  # Kit stays unnamed


def test_who_is_this_names_people_in_a_new_photo(page, live_server, albums_dir):
    user = make_user("hana", password=PASSWORD)
    paths = {folder: sorted((albums_dir / "obama_biden" / "train" / folder).iterdir()) for folder in TRAIN}
    ids = import_photos(user, "Train", [p for folder in TRAIN for p in paths[folder]])
    photo_of = dict(zip([p for folder in TRAIN for p in paths[folder]], ids))
    # The person each training photo is of: its largest face (some have people behind).
    main_face = {
        folder: [max(Face.objects.filter(photo_id=photo_of[p]), key=lambda f: f.box_width).pk for p in paths[folder]]
        for folder in TRAIN
    }

    sign_in(page, live_server, "hana")
    for folder, name in TRAIN.items():
        if name is None:
            continue
        page.goto(live_server.url + "/people/unsorted/")
        tick(page, main_face[folder])
        assert page.inner_text("[data-count]") == f"{len(main_face[folder])} selected"
        page.fill(".toolbar input[name=name]", name)
        page.click(".toolbar button[value=name]")
        page.wait_for_selector(f"text=Named {len(main_face[folder])} face(s) {name}.")
    screenshot(page, "30-unsorted-after-naming")
    for folder, name in TRAIN.items():
        if name:
            person = Person.objects.get(owner=user, name=name)
            assert set(person.faces.filter(person_state="confirmed").values_list("pk", flat=True)) == set(main_face[folder])
    library = (Photo.objects.count(), Face.objects.count())

    page.click("nav >> text=Who is this?")
    page.set_input_files("#id_photo", str(albums_dir / "obama_biden" / "test" / "obama_and_biden.jpg"))
    page.click("text=Find these faces")
    page.wait_for_selector("section.query")
    screenshot(page, "31-who-is-this-answer")
    guesses = page.locator("section.query .guess").all_inner_texts()
    # The two of them, and a face in the background that nobody named.
    assert page.inner_text("main p.muted >> nth=0") == f"{len(guesses)} faces found." and len(guesses) == 3
    named = sorted(page.locator("section.query .guess a").all_inner_texts())
    assert named == ["Barack Obama", "Joe Biden"], guesses
    # Each name says how often a stranger would come as close: rarely, for these two.
    people = Person.objects.filter(owner=user).exclude(name="").count()
    for guess in guesses:
        if not guess.startswith("Unknown"):
            assert f"one of your {people} named people" in guess and "less than 0.1 % of the time" in guess, guess
    assert [g.split(".")[0] for g in guesses].count("Unknown: not close enough to anyone you named") == 1, guesses
    # Each face's nearest library faces lead with the guessed person.
    for section in page.locator("section.query:has(.guess a)").all():
        guess = section.locator(".guess a").inner_text()
        assert section.locator(".caption span >> nth=0").inner_text() == guess
    assert (Photo.objects.count(), Face.objects.count()) == library  # asked about, not added

    # The name leads to that person's page.
    page.click("section.query .guess a:has-text('Joe Biden')")
    page.wait_for_selector("h1:has-text('Joe Biden')")
    biden = Person.objects.get(owner=user, name="Joe Biden")
    assert page.url.endswith(f"/people/{biden.pk}/")
    assert f"{biden.faces.count()} face" in page.inner_text("main p.muted")

    # The header's search finds people and shows each one's face.
    page.fill(".topbar input[type=search]", "jo")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('People matching')")
    tile = page.locator("ul.people li.tile")
    assert tile.count() == 1 and tile.locator("strong").inner_text() == "Joe Biden"
    face = tile.locator("img")
    assert face.evaluate("img => img.complete && img.naturalWidth > 0") and face.bounding_box()["width"] >= 100
    screenshot(page, "33-people-search")

    # A photo of someone nobody named is answered honestly.
    page.goto(live_server.url + "/who/")
    page.set_input_files("#id_photo", str(albums_dir / "obama_biden" / "test" / "kit_with_rose.jpg"))
    page.click("text=Find these faces")
    page.wait_for_selector("section.query")
    screenshot(page, "32-who-is-this-unknown")
    guesses = page.locator("section.query .guess").all_inner_texts()
    # Rose Leslie and Kit, both unnamed: unknown, and the page says who came closest and how little that means.
    assert [g.split(".")[0] for g in guesses] == ["Unknown: not close enough to anyone you named"] * 2, guesses
    assert all("Closest is " in g and "% of the time" in g for g in guesses), guesses

""" "Same person?" chosen by clicking: a library face through the picker, or a face of an
uploaded photo; errors keep the other side's choice; the JSON API picks a photo's face."""
from __future__ import annotations

import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user
from tests.samples import landscape_jpeg
from webapp.faces.models import Face
from webapp.people.models import Person
from webapp.search import verify_page

pytestmark = pytest.mark.django_db


def buttons(page: str, name: str) -> list[str]:
    """The values of the page's submit buttons called ``name``: what a click sends."""
    return [unescape(v) for v in re.findall(rf'<button type="submit" name="{name}" value="([^"]*)"', page)]


def hidden(page: str) -> dict[str, str]:
    return {n: unescape(v) for n, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page) if n != "csrfmiddlewaretoken"}


def upload(albums_dir, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.jpg", (albums_dir / name).read_bytes())


def test_faces_are_chosen_by_clicking_a_person_then_a_face_never_typed(alice_client, library):
    page = alice_client.get(reverse("verify")).content.decode()
    assert 'type="number"' not in page and "Face A id" not in page
    assert "Choose face A" in page
    # The picker lists people with their faces, and the unsorted faces (Obama in obama1.jpg).
    obama = Person.objects.get(name="Barack Obama")
    assert f"person:{obama.pk}" in buttons(page, "open") and "unsorted" in buttons(page, "open")
    assert re.search(rf'<img src="/faces/\d+/thumbnail.jpg" alt="Barack Obama"', page)

    # Open Obama: his faces, each a button choosing it for side A.
    page = alice_client.post(reverse("verify"), {**hidden(page), "open": f"person:{obama.pk}"}).content.decode()
    face = library["obama"][0]
    assert {f"a:{f.pk}" for f in library["obama"]} == set(buttons(page, "choose"))
    page = alice_client.post(reverse("verify"), {**hidden(page), "choose": f"a:{face.pk}"}).content.decode()
    assert hidden(page)["face_a"] == str(face.pk) and f'src="/faces/{face.pk}/thumbnail.jpg" alt="Face A"' in page
    assert "Face A: Barack Obama" in page and "Choose face B" in page
    # The picker stays on Obama: B is his other photo.
    assert set(buttons(page, "choose")) == {f"b:{f.pk}" for f in library["obama"]}
    page = alice_client.post(reverse("verify"), {**hidden(page), "choose": f"b:{library['obama'][1].pk}"}).content.decode()
    assert "<h2>Same person</h2>" in page or "<h2>Very likely the same person</h2>" in page
    assert "Chance that these two faces are one person: <strong>" in page and "Choose face" not in page
    # Change B: the picker comes back for B, A stays.
    page = alice_client.post(reverse("verify"), {**hidden(page), "change": "b"}).content.decode()
    assert hidden(page)["face_a"] == str(face.pk) and "face_b" not in hidden(page) and "Choose face B" in page
    assert "Chance that these two faces" not in page


def test_a_name_search_and_the_unsorted_faces_in_the_picker(alice_client, library):
    page = alice_client.post(reverse("verify"), {"q": "jo", "search": "1"}).content.decode()
    biden = Person.objects.get(name="Joe Biden")
    assert buttons(page, "open") == [f"person:{biden.pk}"]
    page = alice_client.post(reverse("verify"), {"open": "unsorted"}).content.decode()
    unsorted = set(Face.objects.filter(person__isnull=True).values_list("pk", flat=True))
    assert {int(v.split(":")[1]) for v in buttons(page, "choose")} == unsorted and unsorted
    # Pages of the picker are buttons too, carrying what is chosen.
    saved, verify_page.FACES_PER_PAGE = verify_page.FACES_PER_PAGE, 1
    try:
        obama = Person.objects.get(name="Barack Obama")
        first = alice_client.post(reverse("verify"), {"face_a": library["biden"][0].pk, "open": f"person:{obama.pk}"}).content.decode()
        second = alice_client.post(reverse("verify"), {**hidden(first), "page": "2"}).content.decode()
    finally:
        verify_page.FACES_PER_PAGE = saved
    assert buttons(first, "page") == ["2"] and hidden(second)["face_a"] == str(library["biden"][0].pk)
    assert buttons(first, "choose") != buttons(second, "choose") and len(buttons(second, "choose")) == 1


def test_a_photo_with_several_faces_asks_which_face(alice_client, library, albums_dir):
    biden = library["biden"][0]
    page = alice_client.get(reverse("verify"), {"face_a": biden.pk}).content.decode()  # the similar-faces page's link
    assert hidden(page)["face_a"] == str(biden.pk) and "Face A: Joe Biden" in page and "Choose face B" in page
    before = Face.objects.count()
    page = alice_client.post(reverse("verify"), {**hidden(page), "find_faces": "b", "photo": upload(albums_dir, "obama_biden/test/obama_and_biden.jpg")}).content.decode()
    assert Face.objects.count() == before  # not added to the library
    candidates = buttons(page, "choose_photo_face")
    # Biden, Obama and a child, left to right, as crops to click; nothing compared yet.
    assert len(candidates) == 3 and all(c.startswith("b:") for c in candidates) and "<h2>Different" not in page
    assert "3 faces in that photo: click the one to compare." in page and page.count('alt="Face 1 of the photo') == 1
    assert hidden(page)["face_a"] == str(biden.pk)

    same = alice_client.post(reverse("verify"), {**hidden(page), "choose_photo_face": candidates[0]}).content.decode()
    different = alice_client.post(reverse("verify"), {**hidden(page), "choose_photo_face": candidates[1]}).content.decode()
    assert "<h2>Same person</h2>" in same or "<h2>Very likely the same person</h2>" in same
    assert "<h2>Different people</h2>" in different
    # Both compared faces are shown: the library face and the crop from the photo.
    for answer in (same, different):
        assert f'src="/faces/{biden.pk}/thumbnail.jpg" alt="Face A"' in answer
        assert re.search(r'<img class="compared" src="data:image/jpeg;base64,[^"]+" alt="Face B"', answer)
        assert "Face B: from your photo, face " in answer and " of 3" in answer


def test_a_photo_with_one_face_is_chosen_at_once(alice_client, library, albums_dir):
    page = alice_client.post(reverse("verify"), {"find_faces": "a", "photo": upload(albums_dir, "obama_biden/test/obama3.jpg")}).content.decode()
    assert "photo_face_a" in hidden(page) and "Face A: from your photo" in page and "Choose face B" in page
    page = alice_client.post(reverse("verify"), {**hidden(page), "choose": f"b:{library['obama'][0].pk}"}).content.decode()
    assert "<h2>Same person</h2>" in page or "<h2>Very likely the same person</h2>" in page


@pytest.mark.parametrize("name, data, message", [
    ("landscape.jpg", landscape_jpeg(), "No face was found in that photo."),
    ("notes.jpg", b"just some text", "That file can't be used: "),
])
def test_a_bad_photo_is_an_error_and_keeps_the_other_side(alice_client, library, name, data, message):
    face = library["obama"][0]
    page = alice_client.post(reverse("verify"), {"face_a": face.pk, "find_faces": "b", "photo": SimpleUploadedFile(name, data)}).content.decode()
    assert re.search(rf'<p class="error big" role="alert">{re.escape(message)}', unescape(page)), page
    assert hidden(page)["face_a"] == str(face.pk) and "Face A: Barack Obama" in page and "Choose face B" in page


def test_another_users_face_or_a_forged_photo_face_is_an_error_and_keeps_the_other_side(alice_client, library, albums_dir):
    mallory = make_user("mallory")
    client = Client()
    client.force_login(mallory)
    foreign = library["obama"][0]
    page = client.post(reverse("verify"), {"find_faces": "a", "photo": upload(albums_dir, "obama_biden/test/obama3.jpg")}).content.decode()
    token = hidden(page)["photo_face_a"]
    page = client.post(reverse("verify"), {"photo_face_a": token, "choose": f"b:{foreign.pk}"}).content.decode()
    assert f"No face with id {foreign.pk}." in page and hidden(page)["photo_face_a"] == token and "Distance" not in page
    # Mallory's token is hers: Alice can't use it, and an altered one is refused.
    page = alice_client.post(reverse("verify"), {"photo_face_a": token, "face_b": foreign.pk}).content.decode()
    assert "choose the photo again" in page and hidden(page)["face_b"] == str(foreign.pk) and "Distance" not in page
    page = client.post(reverse("verify"), {"photo_face_a": token[:-3] + "abc"}).content.decode()
    assert "choose the photo again" in page and "photo_face_a" not in hidden(page)
    assert client.post(reverse("verify"), {"open": "person:" + str(Person.objects.get(name="Barack Obama").pk)}).content.decode().count("No such person.") == 1


def test_the_api_chooses_a_face_of_a_photo_by_its_index(alice_client, library, albums_dir):
    biden = library["biden"][0]

    def ask(**fields):
        return alice_client.post(reverse("api:verify"), {"face_a": biden.pk, "photo_b": upload(albums_dir, "obama_biden/test/obama_and_biden.jpg"), **fields})

    by_index = [ask(face_index_b=str(i)).json() for i in range(3)]
    assert [r["face_b"]["index"] for r in by_index] == [0, 1, 2] and {r["face_b"]["faces_in_photo"] for r in by_index} == {3}
    boxes = [r["face_b"]["box"][0] for r in by_index]
    assert boxes == sorted(boxes)  # left to right
    assert by_index[0]["same_person"] is True and by_index[1]["same_person"] is False
    assert by_index[0]["face_a"]["id"] == biden.pk
    # Without an index: the largest face, as before (Biden's, on the left).
    assert ask().json()["face_b"]["index"] == 0
    out_of_range = ask(face_index_b="3")
    assert out_of_range.status_code == 400 and "from 0 to 2" in out_of_range.json()["error"]
    assert ask(face_index_b="x").status_code == 400

"""'Photos with Alice and Bob': the photos in which every chosen person has a face, on
the BBT album photos named face by face."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.samples import BBT_GROUP_PHOTOS
from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.models import Person
from webapp.people.services import faces_name
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db

GROUP_PHOTOS = BBT_GROUP_PHOTOS


@pytest.fixture
def named(user, albums_dir) -> dict[str, int]:
    """The group photos with every character's face named: name -> person id."""
    album = album_create(owner=user, name="BBT")
    ids = {}
    for name in GROUP_PHOTOS:
        with (albums_dir / "bbt" / name).open("rb") as handle:
            ids[name] = photo_ingest(owner=user, album=album, source=handle, original_name=name).photo_id
    photo_process(photo_ids=list(ids.values()))
    faces_of: dict[str, list[int]] = {}
    for name, who in GROUP_PHOTOS.items():
        faces = sorted(Face.objects.filter(photo_id=ids[name]), key=lambda f: f.box_x0 + f.box_x1)
        assert len(faces) == len(who), name
        for face, character in zip(faces, who):
            if character != "?":
                faces_of.setdefault(character, []).append(face.pk)
    return {character: faces_name(owner=user, face_ids=faces, name=character.title()).pk
            for character, faces in faces_of.items()}


def shown(client, *people: int) -> list[str]:
    response = client.get("/people/photos/", {"with": list(people)})
    assert response.status_code == 200
    return sorted(photo.original_name for photo in response.context["photos"])


def test_the_photos_with_two_people_are_those_they_share(alice_client, named):
    assert shown(alice_client, named["sheldon"], named["penny"]) == ["bbt3.jpg", "bbt5.jpg"]
    assert shown(alice_client, named["howard"]) == ["bbt1.jpg", "bbt3.jpg", "bbt5.jpg"]
    assert shown(alice_client, named["sheldon"], named["leonard"]) == sorted(GROUP_PHOTOS)
    assert shown(alice_client, named["raj"], named["penny"], named["howard"]) == ["bbt3.jpg", "bbt5.jpg"]


def test_the_page_names_the_people_and_offers_the_others(alice_client, named):
    response = alice_client.get("/people/photos/", {"with": [named["sheldon"], named["penny"]]})
    text = response.content.decode()
    assert "<h1>Photos with Sheldon and Penny</h1>" in text
    assert "2 photos with Sheldon and Penny" in text
    assert {p.name for p in response.context["others"]} == {"Leonard", "Howard", "Raj"}
    # Each chip's × keeps the other person; the face counts are the photos' own.
    assert f'href="?with={named["penny"]}"' in text and f'href="?with={named["sheldon"]}"' in text
    assert sorted(p.face_count for p in response.context["photos"]) == [5, 5]


def test_a_person_not_yours_or_not_a_number_answers_404(alice_client, named):
    other = Person.objects.create(owner=make_user("mallory"), name="Eve")
    assert alice_client.get("/people/photos/", {"with": [named["sheldon"], other.pk]}).status_code == 404
    assert alice_client.get("/people/photos/", {"with": ["x"]}).status_code == 404
    assert alice_client.get("/people/photos/").status_code == 404


def test_the_api_lists_the_photos_of_several_people(alice_client, named):
    answer = alice_client.get("/api/v1/photos", {"person": [named["sheldon"], named["penny"]]})
    assert answer.status_code == 200
    body = answer.json()
    assert body["people"] == [{"id": named["sheldon"], "name": "Sheldon"}, {"id": named["penny"], "name": "Penny"}]
    assert body["count"] == 2 and sorted(p["name"] for p in body["results"]) == ["bbt3.jpg", "bbt5.jpg"]
    assert all(p["faces"] == 5 and p["url"].endswith(f"/photos/{p['id']}/") for p in body["results"])
    page = alice_client.get("/api/v1/photos", {"person": [named["howard"]], "limit": 2, "offset": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 1


def test_the_api_says_what_is_wrong_and_hides_other_users_people(alice_client, named):
    other = Person.objects.create(owner=make_user("mallory"), name="Eve")
    assert alice_client.get("/api/v1/photos", {"person": [other.pk]}).status_code == 404
    assert alice_client.get("/api/v1/photos").json()["count"] == len(GROUP_PHOTOS)  # no one asked: every photo
    assert alice_client.get("/api/v1/photos", {"person": ["x"]}).status_code == 400
    assert alice_client.get("/api/v1/photos", {"person": [named["raj"]], "limit": 0}).status_code == 400

"""The API's "Not a face" and "Add a face" (docs/api.md), on a real group photo: they do what
the photo page does, answer a foreign id like a missing one (404) and bad input with 400."""
from __future__ import annotations

import base64

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import make_user
from tests.webapp.search.conftest import import_photo
from webapp.faces.models import DismissedFace, Face
from webapp.people.models import Operation
from webapp.people.oplog import operation_undo
from webapp.photos.services import album_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def group_photo(user, albums_dir):
    return import_photo(user, album_create(owner=user, name="BBT"), albums_dir / "bbt" / "bbt2.jpg")


def test_not_a_face_by_api_and_undo(alice_client, user, group_photo):
    face = Face.objects.filter(photo_id=group_photo).order_by("box_x0").first()
    response = alice_client.post(reverse("api:face-not-a-face", args=[face.pk]))
    assert response.status_code == 200 and response.json() == {"not_a_face": face.pk, "photo_id": group_photo}
    assert not Face.objects.filter(pk=face.pk).exists() and DismissedFace.objects.filter(face_id=face.pk).exists()
    again = alice_client.post(reverse("api:face-not-a-face", args=[face.pk]))
    assert again.status_code == 404 and again.json()["error"] == f"No face with id {face.pk}."
    operation_undo(owner=user)
    similar = alice_client.get(reverse("api:face-similar", args=[face.pk])).json()
    assert similar["face"]["id"] == face.pk and similar["face"]["source"] == "detected"


def test_add_a_face_by_api(alice_client, user, group_photo):
    faces = list(Face.objects.filter(photo_id=group_photo))
    face = faces[0]
    Face.objects.filter(pk=face.pk).delete()  # a face the detector missed
    url = reverse("api:face-add", args=[group_photo])
    response = alice_client.post(url, {"box": list(face.box), "name": "Leonard"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["person"] == "Leonard" and body["source"] == "drawn" and body["photo_id"] == group_photo
    assert body["box"] == [round(v, 1) for v in face.box]
    assert Face.objects.get(pk=body["id"]).person_state == Face.PersonState.CONFIRMED
    unnamed = alice_client.post(url, {"box": [2, 2, 60, 70]}, content_type="application/json").json()
    assert unnamed["person"] is None and unnamed["source"] == "drawn"
    assert list(Operation.objects.filter(owner=user).values_list("kind", flat=True)[:2]) == ["add-face", "add-face"]


@pytest.mark.parametrize("body, message", [
    ({"box": [1, 2, 3]}, "four numbers"),
    ({"box": [0, 0, 10**6, 50]}, "must lie on the photo"),
    ({"box": [10, 10, 20, 20]}, "too small"),
    ({"box": [10, 10, 80, 80], "name": 5}, "'name': Input should be a valid string"),
    ({}, "'box': Field required"),
])
def test_add_a_face_refuses_bad_input_with_400(alice_client, group_photo, body, message):
    count = Face.objects.count()
    response = alice_client.post(reverse("api:face-add", args=[group_photo]), body, content_type="application/json")
    assert response.status_code == 400 and message in response.json()["error"]
    assert Face.objects.count() == count


def test_not_json_is_400(alice_client, group_photo):
    response = alice_client.post(reverse("api:face-add", args=[group_photo]), "box=1", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "Cannot parse request body"


def test_another_users_ids_answer_404_and_change_nothing(user, group_photo):
    mallory = Client()
    mallory.force_login(make_user("mallory"))
    face = Face.objects.filter(photo_id=group_photo).first()
    count = Face.objects.count()
    dismiss = mallory.post(reverse("api:face-not-a-face", args=[face.pk]))
    assert dismiss.status_code == 404 and dismiss.json()["error"] == f"No face with id {face.pk}."
    add = mallory.post(reverse("api:face-add", args=[group_photo]), {"box": [2, 2, 60, 70]}, content_type="application/json")
    assert add.status_code == 404 and add.json()["error"] == f"No photo with id {group_photo}."
    missing = mallory.post(reverse("api:face-add", args=[10**9]), {"box": [2, 2, 60, 70]}, content_type="application/json")
    assert missing.status_code == 404 and missing.json()["error"] == "No photo with id 1000000000."
    assert Face.objects.count() == count and not DismissedFace.objects.exists()


def test_writes_need_sign_in_and_csrf(user, group_photo):
    face = Face.objects.filter(photo_id=group_photo).first()
    anonymous = Client()
    assert anonymous.post(reverse("api:face-not-a-face", args=[face.pk])).status_code == 401
    session = Client(enforce_csrf_checks=True)
    session.force_login(user)
    assert session.post(reverse("api:face-not-a-face", args=[face.pk])).status_code == 403
    token = base64.b64encode(b"alice:correct horse battery").decode()
    basic = anonymous.post(reverse("api:face-not-a-face", args=[face.pk]), HTTP_AUTHORIZATION=f"Basic {token}")
    assert basic.status_code == 200 and not Face.objects.filter(pk=face.pk).exists()

"""Deleting a photo: names given to its faces stop voting, undo keeps working for the
rest of the library, and the page asks before it deletes."""
from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from tests.webapp.people.test_editing import crops
from webapp.faces.models import Face
from webapp.people import services
from webapp.people.models import FaceRejection, Operation, Person
from webapp.people.oplog import operation_undo
from webapp.photos.models import Photo
from webapp.photos.services import photo_delete

pytestmark = pytest.mark.django_db


def photos_of(face_ids: list[int]) -> set[int]:
    return set(Face.objects.filter(pk__in=face_ids).values_list("photo_id", flat=True))


def test_deleting_the_photos_behind_a_name_withdraws_its_suggestions(user, faces, client):
    penny = services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")
    assert Face.objects.filter(owner=user, person=penny, person_state="auto").exists()
    client.force_login(user)
    for photo_id in photos_of(crops(faces, "penny")):
        assert client.post(reverse("photo-delete", args=[photo_id])).status_code == 302
    # No confirmed Penny face is left, so nothing votes for Penny any more; the name the
    # user gave stays, as a person with no faces, ready for the next photo of her.
    assert not Face.objects.filter(owner=user, person=penny).exists()
    assert Person.objects.get(pk=penny.pk).name == "Penny"
    assert "<strong>Penny</strong><span>0 faces</span>" in client.get(reverse("people-list")).content.decode()


def test_undo_still_works_after_the_photo_of_an_edited_face_is_deleted(user, faces):
    services.faces_name(owner=user, face_ids=crops(faces, "sheldon"), name="Sheldon")
    services.faces_name(owner=user, face_ids=crops(faces, "penny"), name="Penny")
    suggested = Face.objects.filter(owner=user, person_state="auto", person__name__gt="").first()
    services.suggestions_answer(owner=user, face_ids=[suggested.pk], accept=False)
    services.faces_name(owner=user, face_ids=[suggested.pk], name="Leonard")  # its undo would restore the rejection
    assert FaceRejection.objects.filter(face=suggested).exists()

    photo_delete(photo=Photo.objects.get(pk=suggested.photo_id))
    undone = operation_undo(owner=user)
    connection.check_constraints()  # no rejection restored for the deleted face
    assert undone.summary == "Named 1 face(s) Leonard"
    assert not FaceRejection.objects.filter(face_id=suggested.pk).exists()
    for _ in range(3):  # the rejection and both namings come off as well
        operation_undo(owner=user)
        connection.check_constraints()
    assert not Face.objects.filter(owner=user, person_state="confirmed").exists()
    assert not Operation.objects.filter(owner=user, undone_at__isnull=True).exists()


def test_the_photo_page_asks_before_deleting(user, faces, client):
    photo = Photo.objects.get(pk=faces["bbt1.jpg"][0].photo_id)
    client.force_login(user)
    page = client.get(reverse("photo-detail", args=[photo.pk])).content.decode()
    count = len(faces["bbt1.jpg"])
    assert f'action="{reverse("photo-delete", args=[photo.pk])}"' in page
    assert f"Delete this photo and its {count} faces" in page and "This cannot be undone." in page
    assert client.get(reverse("photo-delete", args=[photo.pk])).status_code == 405  # a link can never delete
    assert Photo.objects.filter(pk=photo.pk).exists()

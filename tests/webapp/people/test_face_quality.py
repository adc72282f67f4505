"""Faces of low quality stay on their photos but are neither grouped, suggested a name
nor counted as evidence for one; a face the user confirmed stays confirmed."""
from __future__ import annotations

import pytest
from django.conf import settings

from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.grouping import faces_group
from webapp.people.propagation import names_refresh
from webapp.people.selectors import review_queue
from webapp.people.services import faces_name
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(user, albums_dir):
    """BBT group photos (bbt2.jpg has the blurred man behind Leonard) and the crops of
    Sheldon and Leonard; the faces of each photo, left to right."""
    album = album_create(owner=user, name="BBT")
    paths = [albums_dir / "bbt" / f"bbt{i}.jpg" for i in (1, 2, 3, 5)]
    for character in ("sheldon", "leonard"):
        paths += sorted((albums_dir / "bbt" / "characters" / character).iterdir())
    names = {}
    for path in paths:
        with path.open("rb") as handle:
            names[photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id] = path.name
    for start in range(0, len(names), 8):
        photo_process(photo_ids=list(names)[start : start + 8])
    return {names[p.pk]: list(p.faces.order_by("box_x0")) for p in album.photos.all()}


def fresh(face: Face) -> Face:
    return Face.objects.select_related("person").get(pk=face.pk)


def test_the_blurred_bystander_is_scored_low_and_left_out_of_the_groups(user, library, settings):
    bystander, leonard, sheldon = library["bbt2.jpg"]
    assert bystander.quality < settings.VISAGE_FACE_QUALITY_MIN <= min(leonard.quality, sheldon.quality)
    assert all(f.quality is not None for faces in library.values() for f in faces)

    faces_group(owner=user)
    assert fresh(bystander).person is None and fresh(bystander).group_key is None
    assert fresh(sheldon).person is not None  # grouped with his crops and group photos
    assert fresh(bystander).photo.faces.count() == 3  # still a face of its photo, box and all


def test_a_face_scored_low_after_grouping_leaves_its_group_on_the_next_run(user, library):
    sheldon = library["bbt2.jpg"][2]
    faces_group(owner=user)
    group = fresh(sheldon).person
    assert group is not None and group.faces.count() > 2
    Face.objects.filter(pk=sheldon.pk).update(quality=0.05)

    faces_group(owner=user)
    assert (fresh(sheldon).person, fresh(sheldon).group_key) == (None, None)
    assert Face.objects.filter(person=group).count() > 1  # the rest of the group stays together


def test_low_quality_faces_are_not_suggested_and_do_not_vote(user, library):
    sheldon_crops = [faces[0] for name, faces in library.items() if name.startswith("sheldon")]
    in_bbt2 = library["bbt2.jpg"][2]
    Face.objects.filter(pk=in_bbt2.pk).update(quality=0.05)

    faces_name(owner=user, face_ids=[sheldon_crops[0].pk], name="Sheldon")
    suggested = {f.pk for f in Face.objects.filter(person__name="Sheldon", person_state=Face.PersonState.AUTO)}
    assert {f.pk for f in sheldon_crops[1:]} & suggested  # the vote works for good faces ...
    assert in_bbt2.pk not in suggested  # ... but not for the poor one
    assert in_bbt2.pk not in {f.pk for f in review_queue(owner=user)}

    # The only named face becomes a poor one: it stays confirmed, and votes no more.
    Face.objects.filter(pk=sheldon_crops[0].pk).update(quality=0.05)
    names_refresh(owner=user)
    assert fresh(sheldon_crops[0]).person_state == Face.PersonState.CONFIRMED
    assert not Face.objects.filter(person__name="Sheldon", person_state=Face.PersonState.AUTO).exists()


def test_a_low_quality_face_named_by_hand_stays_confirmed(user, library):
    bystander = library["bbt2.jpg"][0]
    assert bystander.quality < settings.VISAGE_FACE_QUALITY_MIN
    person = faces_name(owner=user, face_ids=[bystander.pk], name="Man behind Leonard")
    faces_group(owner=user)
    names_refresh(owner=user)
    assert (fresh(bystander).person, fresh(bystander).person_state) == (person, Face.PersonState.CONFIRMED)

"""Faces of low quality stay on their photos but are neither grouped, suggested a name
nor counted as evidence for one; a face the user confirmed stays confirmed."""
from __future__ import annotations

import io

import pytest
from django.conf import settings
from PIL import Image, ImageFilter

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


def blurred_jpeg(path, *, side: int = 400, radius: float = 5) -> bytes:
    """The photo shrunk to ``side`` and out of focus: a face in the background."""
    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(radius)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_blurred_strangers_no_longer_make_a_group_of_their_own(user, albums_dir, settings):
    """The user's report: blurred bystanders of different photos were grouped together.
    Blur pulls faces towards one another (three blurred strangers here are closer than
    the same-person threshold); with the filter none of them is grouped."""
    album = album_create(owner=user, name="Background")
    blurred_ids, sharp_ids = [], []
    for name in ("friends/kate_siegel.jpg", "obama_biden/train/rose_leslie/img1.jpg", "obama_biden/train/obama/obama.jpg"):
        source = io.BytesIO(blurred_jpeg(albums_dir / name))
        blurred_ids.append(photo_ingest(owner=user, album=album, source=source, original_name=f"blurred-{name.replace('/', '-')}").photo_id)
    for name in ("bbt/bbt1.jpg", "friends/multiface.jpg", "obama_biden/train/obama/obama2.jpg", "obama_biden/train/biden/biden.jpg"):
        with (albums_dir / name).open("rb") as handle:
            sharp_ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=name).photo_id)
    photo_process(photo_ids=blurred_ids + sharp_ids)
    blurred = list(Face.objects.filter(photo_id__in=blurred_ids))
    assert len(blurred) == 3 and all(f.quality < settings.VISAGE_FACE_QUALITY_MIN for f in blurred)

    default, settings.VISAGE_FACE_QUALITY_MIN = settings.VISAGE_FACE_QUALITY_MIN, 0.0  # the filter off: the report
    faces_group(owner=user)
    groups = [fresh(f).person_id for f in blurred]
    assert any(p is not None and groups.count(p) > 1 for p in groups), groups  # strangers in one group

    settings.VISAGE_FACE_QUALITY_MIN = default
    faces_group(owner=user)
    assert [fresh(f).person for f in blurred] == [None, None, None]
    assert Face.objects.filter(photo_id__in=blurred_ids).count() == 3  # still faces of their photos


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

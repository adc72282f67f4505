"""A "No, they are not the same person" outlives grouping runs: a run never joins two
people the user told apart, and when a run hands an unnamed person's faces to another
person, that one inherits the "No". Real album photos: Sheldon's five character photos,
which one cluster holds, and Penny's."""
import pytest

from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.grouping import faces_group
from webapp.people.models import Person, PersonDistinction
from webapp.people.oplog import operation_undo
from webapp.people.services import people_distinct
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def faces_of(user, albums_dir):
    """{"Sheldon": [face ids], "Penny": [...]}: the largest face of each character photo."""
    album = album_create(owner=user, name="A")
    photos = {}
    for name in ("sheldon", "penny"):
        for path in sorted((albums_dir / "bbt" / "characters" / name).iterdir()):
            with path.open("rb") as handle:
                photos.setdefault(name, []).append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=[pid for ids in photos.values() for pid in ids])
    return {name.title(): [max(Face.objects.filter(photo_id=pid), key=lambda f: f.box_width).pk for pid in ids]
            for name, ids in photos.items()}


def grouped_as(user, face_ids) -> Person:
    """An unnamed person holding these faces as an earlier run would have left them."""
    person = Person.objects.create(owner=user)
    Face.objects.filter(pk__in=face_ids).update(person=person, person_state=Face.PersonState.AUTO, group_key=person.pk)
    return person


def person_of(face_id):
    return Face.objects.get(pk=face_id).person_id


def test_the_run_joins_sheldon_when_nobody_said_no(user, faces_of):
    sheldon = faces_of["Sheldon"]
    grouped_as(user, sheldon[:3]), grouped_as(user, sheldon[3:])
    faces_group(owner=user, method="hdbscan")
    assert len({person_of(f) for f in sheldon}) == 1  # the premise of the next test


def test_a_run_never_joins_two_people_told_apart(user, faces_of):
    sheldon = faces_of["Sheldon"]
    first, second = grouped_as(user, sheldon[:3]), grouped_as(user, sheldon[3:])
    people_distinct(owner=user, first_id=first.pk, second_id=second.pk)
    faces_group(owner=user, method="hdbscan")
    assert [person_of(f) for f in sheldon] == [first.pk] * 3 + [second.pk] * 2
    assert PersonDistinction.objects.filter(first=min(first.pk, second.pk), second=max(first.pk, second.pk)).exists()


def test_the_person_who_takes_the_faces_takes_the_no_and_undo_gives_it_back(user, faces_of):
    sheldon, penny = faces_of["Sheldon"], faces_of["Penny"]
    most, one = grouped_as(user, sheldon[:4]), grouped_as(user, sheldon[4:])
    penny_group = grouped_as(user, penny)
    people_distinct(owner=user, first_id=one.pk, second_id=penny_group.pk)
    faces_group(owner=user, method="hdbscan")
    assert not Person.objects.filter(pk=one.pk).exists()  # its face went to the rest of Sheldon
    assert person_of(sheldon[4]) == most.pk
    pair = sorted((most.pk, person_of(penny[0])))
    assert PersonDistinction.objects.filter(first_id=pair[0], second_id=pair[1]).exists()
    operation_undo(owner=user)
    assert person_of(sheldon[4]) == one.pk
    assert set(PersonDistinction.objects.values_list("first_id", "second_id")) == {tuple(sorted((one.pk, penny_group.pk)))}

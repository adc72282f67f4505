"""Alice's library of named people from the obama_biden album, for the search tests."""
from __future__ import annotations

import pytest

from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.models import Person
from webapp.photos.services import album_create, photo_ingest

NAMES = {
    "obama": "Barack Obama",
    "biden": "Joe Biden",
    "kit_harington": "Kit Harington",
    "rose_leslie": "Rose Leslie",
    "alex_lacamoire": "Alex Lacamoire",
}


def import_photo(owner, album, path):
    with path.open("rb") as handle:
        outcome = photo_ingest(owner=owner, album=album, source=handle, original_name=path.name)
    photo_process(photo_ids=[outcome.photo_id])
    return outcome.photo_id


@pytest.fixture
def library(user, albums_dir):
    """Alice's library: the obama_biden train photos, named by folder, plus obama1.jpg unnamed."""
    album = album_create(owner=user, name="Train")
    faces: dict[str, list[Face]] = {}
    for folder, name in NAMES.items():
        person = Person.objects.create(owner=user, name=name)
        for path in sorted((albums_dir / "obama_biden" / "train" / folder).iterdir()):
            photo_id = import_photo(user, album, path)
            face = max(Face.objects.filter(photo_id=photo_id), key=lambda f: f.box_width)
            face.person, face.person_state = person, "confirmed"
            face.save(update_fields=["person", "person_state"])
            faces.setdefault(folder, []).append(face)
    unnamed_photo = import_photo(user, album, albums_dir / "obama_biden" / "test" / "obama1.jpg")
    faces["obama_unnamed"] = list(Face.objects.filter(photo_id=unnamed_photo))
    return faces

"""The BBT album: naming the character crops spreads the names to the group photos."""
from __future__ import annotations

import pytest

from tests.samples import BBT_GROUP_PHOTOS
from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.services import faces_name
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db

GROUP_PHOTOS = BBT_GROUP_PHOTOS


def test_character_names_spread_to_group_photos(user, albums_dir):
    album = album_create(owner=user, name="BBT")
    bbt = albums_dir / "bbt"
    crops: dict[str, list[int]] = {}
    for folder in sorted((bbt / "characters").iterdir()):
        for path in sorted(folder.iterdir()):
            with path.open("rb") as handle:
                outcome = photo_ingest(owner=user, album=album, source=handle, original_name=f"{folder.name}/{path.name}")
            crops.setdefault(folder.name, []).append(outcome.photo_id)
    group_ids = {}
    for name in GROUP_PHOTOS:
        with (bbt / name).open("rb") as handle:
            group_ids[name] = photo_ingest(owner=user, album=album, source=handle, original_name=name).photo_id
    all_ids = [i for ids in crops.values() for i in ids] + list(group_ids.values())
    for start in range(0, len(all_ids), 8):
        photo_process(photo_ids=all_ids[start : start + 8])

    for character, photo_ids in crops.items():
        faces = [f.pk for f in Face.objects.filter(photo_id__in=photo_ids)]
        faces_name(owner=user, face_ids=faces, name=character)

    found = {}
    for name, photo_id in group_ids.items():
        faces = sorted(Face.objects.filter(photo_id=photo_id).select_related("person"), key=lambda f: f.box_x0 + f.box_x1)
        found[name] = [f.person.name if f.person else "?" for f in faces]
        assert all(f.person_state in ("auto", "") for f in faces)
    # Wrong names are the worst fault: a face is either suggested correctly or left unknown.
    for name, expected in GROUP_PHOTOS.items():
        for got, want in zip(found[name], expected):
            assert got in (want, "?"), f"{name}: {got} suggested for {want}"
    # Known miss: bbt1's Leonard wears a full beard and curly wig there, unlike every crop
    # of him, and stays unknown with the pretrained model (15 of 16 character faces named).
    correct = sum(g == w for name in GROUP_PHOTOS for g, w in zip(found[name], GROUP_PHOTOS[name]) if w != "?")
    assert correct >= 15

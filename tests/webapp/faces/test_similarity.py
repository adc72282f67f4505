"""Range searches on the HNSW index: every face within a radius, as an exact scan finds them."""
from __future__ import annotations

import numpy as np
import pytest

from webapp.faces import similarity
from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(user, albums_dir):
    album = album_create(owner=user, name="BBT")
    paths = sorted((albums_dir / "bbt").glob("bbt*.jpg")) + sorted((albums_dir / "bbt" / "characters" / "sheldon").iterdir())
    ids = []
    for path in paths:
        with path.open("rb") as handle:
            ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    return list(Face.objects.filter(owner=user).values_list("pk", "embedding", "embedding_model_id"))


def exact_balls(library, radius: float) -> dict[int, set[int]]:
    ids = [pk for pk, _, _ in library]
    vectors = np.stack([np.asarray(e, dtype=np.float64) for _, e, _ in library])
    distances = 1.0 - vectors @ vectors.T
    return {pk: {ids[j] for j in np.flatnonzero(row < radius)} for pk, row in zip(ids, distances)}


@pytest.mark.parametrize("index", ["index scans", "exact scans", "a small library"])
def test_faces_within_finds_every_face_in_the_radius(user, other_user, library, index, monkeypatch):
    if index != "a small library":  # answered exactly whatever the index does
        monkeypatch.setattr(similarity, "RANGE_EXACT_LIBRARY", 0)
    if index == "exact scans":  # a radius fuller than any index scan: the exact answer
        monkeypatch.setattr(similarity, "RANGE_FIRST_ROWS", 2)
        monkeypatch.setattr(similarity, "RANGE_MAX_ROWS", 2)
    model_id = library[0][2]
    radius = 0.1  # several faces per person in this library, never all of them
    found = similarity.faces_within(owner_id=user.pk, model_id=model_id, face_ids=[pk for pk, _, _ in library], radius=radius)
    expected = exact_balls(library, radius)
    assert {pk: {n.face_id for n in neighbours} for pk, neighbours in found.items()} == expected
    assert 1 < np.mean([len(ball) for ball in expected.values()]) < len(library) / 2
    for pk, neighbours in found.items():
        assert [n.distance for n in neighbours] == sorted(n.distance for n in neighbours)
        assert neighbours[0].face_id == pk
    # Another user's search sees none of these faces.
    assert similarity.faces_within(owner_id=other_user.pk, model_id=model_id, face_ids=[library[0][0]], radius=radius) == {}

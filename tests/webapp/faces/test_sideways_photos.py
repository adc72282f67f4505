"""A photo stored sideways with no EXIF orientation (a scan, an export, a messaging app)
gets the same faces as the upright photo: the worker's detector also runs on the photo
turned back (webapp/faces/runtime.py DETECT_TURNS)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db(transaction=False)


def _faces(user, album, name: str, jpeg: bytes) -> list[Face]:
    photo_id = photo_ingest(owner=user, album=album, source=io.BytesIO(jpeg), original_name=name).photo_id
    photo_process(photo_ids=[photo_id])
    return list(Face.objects.filter(photo_id=photo_id))


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)  # no EXIF: the pixels themselves are sideways
    return out.getvalue()


@pytest.mark.parametrize("turn", [Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270, Image.Transpose.ROTATE_180])
def test_a_sideways_photo_without_exif_gets_every_face_of_the_upright_one(user, albums_dir, expected_face_counts, turn):
    source = albums_dir / "bbt" / "bbt3.jpg"
    with Image.open(source) as image:
        upright = image.convert("RGB")
    album = album_create(owner=user, name="Scans")
    upright_faces = _faces(user, album, "upright.jpg", _jpeg(upright))
    turned_faces = _faces(user, album, "turned.jpg", _jpeg(upright.transpose(turn)))
    assert len(upright_faces) == expected_face_counts["bbt/bbt3.jpg"]
    assert len(turned_faces) == len(upright_faces)
    # Each face of the turned photo is aligned upright again: its embedding is the same
    # person's as one face of the upright photo, and a different face for each.
    upright_vectors = np.array([f.embedding for f in upright_faces])
    turned_vectors = np.array([f.embedding for f in turned_faces])
    distances = 1 - turned_vectors @ upright_vectors.T
    nearest = distances.argmin(axis=1)
    assert sorted(nearest) == list(range(len(upright_faces)))
    assert distances.min(axis=1).max() < 0.05

"""The stored crops of a face cut by its photo's frame: what the user sees (Face.thumbnail,
grey beyond the edge) and what the network is given again when the photo is gone
(NetworkCrop, the photo's edge repeated as at upload; webapp/faces/crops.py)."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from ml.faces.align import NEUTRAL_GREY, AlignmentTemplate, outside_mask
from webapp.faces.crops import face_crops, photo_decode
from webapp.faces.models import Face, NetworkCrop
from webapp.faces.runtime import face_pipeline_for
from webapp.faces.services import photo_process
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db(transaction=False)


def _process(user, path) -> list[Face]:
    album = album_create(owner=user, name="Portraits")
    with path.open("rb") as handle:
        photo_id = photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id
    photo_process(photo_ids=[photo_id])
    return list(Face.objects.filter(photo_id=photo_id).select_related("photo", "embedding_model"))


@pytest.fixture
def edge_face(user, albums_dir) -> Face:
    """The one face of a real portrait whose right side the frame cuts off."""
    [face] = _process(user, albums_dir / "obama_biden" / "test" / "obama_partial_face2.jpg")
    return face


def _template(face: Face) -> AlignmentTemplate:
    return AlignmentTemplate.from_dict(face.embedding_model.alignment_template)


def _pixels(jpeg) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(bytes(jpeg))).convert("RGB")).astype(int)


def _beyond_the_photo(face: Face) -> tuple[np.ndarray, np.ndarray]:
    """(crop pixels whose source lies outside the photo, those of them 8 px in from its edge:
    past JPEG's 8x8 blocks that hold both photo and fill)."""
    image = photo_decode(face.photo)
    outside = outside_mask(image.pixels.shape, np.asarray(face.landmarks) * image.scale, _template(face))
    return outside, cv2.erode(outside.astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)


def test_the_part_of_an_edge_face_beyond_the_photo_is_shown_neutral_grey(edge_face):
    outside, deep = _beyond_the_photo(edge_face)
    assert outside.mean() > 0.2 and deep.sum() > 1000
    thumbnail = _pixels(edge_face.thumbnail)
    # Uniform grey, not the photo's edge smeared across (JPEG's colour subsampling bleeds a few levels).
    assert np.abs(thumbnail[deep] - NEUTRAL_GREY).max() <= 8 and (thumbnail[deep] == NEUTRAL_GREY).mean() > 0.9
    assert thumbnail[~outside].std() > 20  # the photo part still holds the face


def test_a_lost_photo_re_embeds_from_the_crop_the_network_saw_not_the_grey_thumbnail(edge_face):
    outside, deep = _beyond_the_photo(edge_face)
    network_crop = _pixels(NetworkCrop.objects.get(face=edge_face).jpeg)
    assert network_crop[deep].std(axis=0).max() > 20  # the photo's edge repeated, as the network had it

    edge_face.photo.file.storage.delete(edge_face.photo.file.name)  # the file is lost, the row still names it
    [crop] = face_crops([Face.objects.select_related("photo").get(pk=edge_face.pk)], _template(edge_face))
    np.testing.assert_array_equal(crop, network_crop)
    # The embedding comes back (JPEG aside), well inside the same-person threshold.
    [again] = face_pipeline_for(edge_face.embedding_model).embedder.embed(crop[None])
    assert 1.0 - float(again @ np.asarray(edge_face.embedding)) < 0.1 * edge_face.embedding_model.same_person_threshold


def test_a_face_inside_its_photo_keeps_only_its_thumbnail(user, albums_dir):
    [face] = _process(user, albums_dir / "obama_biden" / "train" / "obama" / "obama.jpg")
    assert not _beyond_the_photo(face)[0].any()
    assert not NetworkCrop.objects.filter(face=face).exists()  # the thumbnail is the network's crop

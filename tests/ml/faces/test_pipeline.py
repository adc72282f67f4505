"""Detect -> align -> embed on real photos, with coordinates in original pixels."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from ml.faces.align import NEUTRAL_GREY, outside_mask
from ml.faces.imageio import ImageDecodeError, decode_image
from ml.faces.pipeline import FacePipeline


@pytest.fixture(scope="module")
def ml_pipeline(ml_detector, ml_embedder):
    return FacePipeline(detector=ml_detector, embedder=ml_embedder)


def test_boxes_are_in_original_pixels(ml_pipeline, ml_albums):
    path = ml_albums / "friends" / "multiface.jpg"
    full = decode_image(path, max_side=None)
    small = decode_image(path, max_side=600)
    assert small.scale < 0.6
    at_full, at_small = ml_pipeline.process_decoded([full, small])
    assert len(at_full) == len(at_small) == 6
    for a, b in zip(at_full, at_small):
        # Detected on different resolutions, reported in the same coordinates.
        # Tolerance: the network sees 600 vs 640 pixels, so boxes and landmarks jitter by up to ~10 % of the face width.
        tolerance = 0.12 * (a.box[2] - a.box[0])
        np.testing.assert_allclose(b.box, a.box, atol=tolerance)
        np.testing.assert_allclose(b.landmarks, a.landmarks, atol=tolerance)
        assert b.embedding.shape == (128,) and b.embedding.dtype == np.float32
        assert a.aligned.shape == (150, 150, 3) and a.aligned.dtype == np.uint8
        assert float(a.embedding @ b.embedding) > 0.9  # same face, same identity
    timings = ml_pipeline.timings
    assert timings.detect_ms > 0 and timings.align_ms > 0 and timings.embed_ms > 0


def test_process_paths_keeps_order_and_reports_bad_files(ml_pipeline, ml_albums, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    folder = ml_albums / "obama_biden" / "train"
    out = ml_pipeline.process_paths([folder / "obama" / "obama.jpg", bad, folder / "biden" / "biden.jpg"])
    assert len(out) == 3
    assert isinstance(out[1], ImageDecodeError)
    assert len(out[0]) == 1 and len(out[2]) == 1
    assert ml_pipeline.timings.decode_ms > 0


def test_image_without_faces(ml_pipeline):
    from ml.faces.imageio import DecodedImage

    blank = DecodedImage(np.full((240, 320, 3), 200, np.uint8), 320, 240, 1.0, None)
    assert ml_pipeline.process_decoded([blank]) == [[]]
    assert ml_pipeline.process_decoded([]) == []


def test_a_face_cut_by_the_frame_is_shown_grey_and_embedded_as_before(ml_pipeline, ml_albums):
    image = decode_image(ml_albums / "obama_biden" / "test" / "obama_partial_face2.jpg")
    [[face]] = ml_pipeline.process_decoded([image])
    outside = outside_mask(image.pixels.shape, face.landmarks * image.scale, ml_pipeline.embedder.template)
    assert outside.mean() > 0.2
    deep = cv2.erode(outside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # past bilinear blending
    assert (face.shown[deep] == NEUTRAL_GREY).all()
    np.testing.assert_array_equal(face.shown[~outside], face.aligned[~outside])
    # The network is given the photo's edge pixels repeated, as every stored embedding was made.
    assert face.aligned[outside].std(axis=0).max() > 20
    np.testing.assert_allclose(face.embedding, ml_pipeline.embedder.embed(face.aligned[None])[0], atol=1e-5)

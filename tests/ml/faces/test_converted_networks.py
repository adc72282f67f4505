"""The converted MobileFaceNet reproduces the TFLite original, and fr_feature.onnx its
recorded outputs, on real celeba5 val crops (tests/fixtures/converted_networks.json,
written by bench/mobilefacenet_reference.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ml.faces.align import ARCFACE_112, align_faces
from ml.faces.embed import Embedder
from ml.faces.imageio import decode_image
from ml.fusion.backbones import MODELS, OnnxFeature
from ml.learning.landmarks import MAX_SIDE
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def reference(ml_data_dir):
    faces = json.loads((FIXTURES / "converted_networks.json").read_text())["faces"]
    crops = np.stack([
        align_faces(decode_image(ml_data_dir / "celeba5" / "val" / face["path"], max_side=MAX_SIDE).pixels,
                    [np.array(face["landmarks"], np.float32)], ARCFACE_112)[0]
        for face in faces
    ])
    return crops, faces


def test_converted_mobilefacenet_matches_the_tflite_interpreter(reference):
    crops, faces = reference
    ours = Embedder.from_checkpoint(MODELS / "mobilefacenet.pt", num_threads=1).embed(crops)
    expected = np.array([face["mobilefacenet"] for face in faces], np.float32)
    assert ours.shape == (len(faces), 192)
    np.testing.assert_allclose(ours, expected, atol=2e-5)
    # Different people stay apart: the check is not passed by a constant output.
    assert float(ours[0] @ ours[-1]) < 0.9 * float(ours[0] @ ours[0])


def test_fr_feature_reproduces_its_recorded_outputs_in_bgr(reference):
    crops, faces = reference
    ours = OnnxFeature(MODELS / "fr_feature.onnx", threads=1)(crops)
    expected = np.array([face["fr_feature"] for face in faces], np.float32)
    np.testing.assert_allclose(ours, expected, atol=2e-5)

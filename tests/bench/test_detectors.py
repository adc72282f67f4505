"""The other detectors of bench/detect.py find the faces of a group photo where they are.

Their packages (requirements-bench.txt) live in the bench's own environment
(`make bench-detect`); where they are not installed these tests skip."""
from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import pytest

from ml.evaluation.detection_cases import face_boxes, load_fixture
from ml.evaluation.detection_scores import iou_matrix
from ml.faces.imageio import decode_image

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "face_boxes.json"


def installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def detector(name: str):
    from bench import detectors

    if name == "yunet":
        if importlib.util.find_spec("yuface") is None:
            pytest.skip("yuface not installed (requirements-bench.txt)")
        return detectors.YuNetDetector()
    if not installed("facenet-pytorch"):
        pytest.skip("facenet-pytorch not installed (requirements-bench.txt)")
    return detectors.MTCNNDetector(threads=2)


@pytest.mark.parametrize("name", ["yunet", "mtcnn"])
def test_finds_every_labelled_face_of_a_group_photo(name, albums_dir):
    labelled = face_boxes(load_fixture(FIXTURE)["photos"]["friends/multiface.jpg"]["faces"])
    faces = detector(name).detect(decode_image(albums_dir / "friends" / "multiface.jpg").pixels)
    assert len(faces) == len(labelled) == 6
    assert (iou_matrix(labelled, [f.box for f in faces]).max(axis=1) >= 0.5).all()
    for face in faces:
        x0, y0, x1, y1 = face.box
        assert ((face.landmarks >= [x0, y0]) & (face.landmarks <= [x1, y1])).all()
        assert 0 < face.score <= 1

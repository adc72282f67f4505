"""Fixtures for the ml package tests: real photos and the converted checkpoint.

Names are prefixed ``ml_`` so they never clash with the project-wide tests/conftest.py.
None of these tests touch the database.
"""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKPOINT = REPO / "models" / "dlib_resnet_v1.pt"


@pytest.fixture(scope="session")
def ml_data_dir(faces_data_dir: Path) -> Path:
    """The datasets folder (FACES_DATA_DIR); see tests/conftest.py."""
    return faces_data_dir


@pytest.fixture(scope="session")
def ml_albums(albums_dir: Path) -> Path:
    return albums_dir


@pytest.fixture(scope="session")
def ml_checkpoint_path() -> Path:
    if not CHECKPOINT.is_file():
        pytest.skip(f"{CHECKPOINT} missing: run python -m ml.convert_face_api (see models/dlib_resnet_v1.md)")
    return CHECKPOINT


@pytest.fixture(scope="session")
def ml_checkpoint(ml_checkpoint_path: Path) -> Path:
    """Alias of ml_checkpoint_path, kept for tests written against that name."""
    return ml_checkpoint_path


@pytest.fixture(scope="session")
def ml_detector():
    from ml.detect import FaceDetector

    # One onnxruntime session for the whole run: creating it costs ~0.2 s.
    return FaceDetector(num_threads=2)


@pytest.fixture(scope="session")
def ml_embedder(ml_checkpoint_path: Path):
    from ml.embed import Embedder

    return Embedder.from_checkpoint(ml_checkpoint_path, device="cpu", num_threads=2)

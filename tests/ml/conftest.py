"""Fixtures for the ml package tests: real photos and the converted checkpoint.

Names are prefixed ``ml_`` so they never clash with the project-wide tests/conftest.py.
None of these tests touch the database.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
        pytest.skip(f"{CHECKPOINT} missing: run python -m ml.learning.convert_face_api (see models/dlib_resnet_v1.md)")
    return CHECKPOINT


@pytest.fixture(scope="session")
def ml_checkpoint(ml_checkpoint_path: Path) -> Path:
    """Alias of ml_checkpoint_path, kept for tests written against that name."""
    return ml_checkpoint_path


@pytest.fixture(scope="session")
def ml_detector():
    from ml.faces.detect import FaceDetector

    # One onnxruntime session for the whole run: creating it costs ~0.2 s.
    return FaceDetector(num_threads=2)


@pytest.fixture(scope="session")
def ml_embedder(ml_checkpoint_path: Path):
    from ml.faces.embed import Embedder

    return Embedder.from_checkpoint(ml_checkpoint_path, device="cpu", num_threads=2)


@pytest.fixture()
def ml_toy_cache(tmp_path: Path) -> Path:
    """A complete face cache of 6 people x 5 random 150x150 'faces' (each person has its own
    tint, so there is something to learn)."""
    rng = np.random.default_rng(0)
    people = [f"p{i}" for i in range(6)]
    crops = np.lib.format.open_memmap(tmp_path / "toy.npy", mode="w+", dtype=np.uint8, shape=(30, 150, 150, 3))
    paths = []
    for i, person in enumerate(people):
        tint = rng.integers(40, 215, 3)
        for j in range(5):
            crops[i * 5 + j] = np.clip(tint + rng.normal(0, 40, (150, 150, 3)), 0, 255).astype(np.uint8)
            paths.append(f"{person}/{person}_{j + 1:04d}.webp")
    crops.flush()
    meta = {"root": str(tmp_path), "size": 150, "paths": paths, "ok": [True] * 30, "done": 30, "complete": True}
    (tmp_path / "toy.json").write_text(json.dumps(meta))
    return tmp_path / "toy.npy"


@pytest.fixture()
def ml_toy_pairs(ml_toy_cache: Path, tmp_path: Path) -> Path:
    """A View-2 pairs file (2 folds x 2 same + 2 different pairs) over the toy cache's people.
    read_pairs wants the images to exist; the crops themselves come from the cache."""
    from ml.learning.facecache import load_cache

    for name in load_cache(ml_toy_cache).paths:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).touch()
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("2\t2\np0\t1\t2\np1\t1\t3\np0\t1\tp1\t2\np2\t1\tp3\t1\n"
                     "p4\t1\t2\np5\t2\t3\np4\t1\tp5\t1\np2\t2\tp0\t3\n")
    return pairs

"""The fine-tuned dlib checkpoint shipped but not registered (models/dlib_resnet_finetuned.pt):
loads, embeds an album photo, keeps people apart."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.faces.align import align_faces
from ml.faces.checkpoint import read_checkpoint
from ml.faces.embed import Embedder
from ml.faces.imageio import decode_image

FINETUNED = Path(__file__).resolve().parents[3] / "models" / "dlib_resnet_finetuned.pt"


@pytest.fixture(scope="module")
def ml_finetuned() -> Embedder:
    if not FINETUNED.is_file():
        pytest.skip(f"{FINETUNED} missing (see models/dlib_resnet_finetuned.md)")
    return Embedder.from_checkpoint(FINETUNED, device="cpu", num_threads=2)


def test_checkpoint_is_small_fp16_and_carries_its_threshold():
    if not FINETUNED.is_file():
        pytest.skip(f"{FINETUNED} missing")
    assert FINETUNED.stat().st_size <= 30 * 2**20
    payload = read_checkpoint(FINETUNED)
    assert payload["config"]["architecture"] == "dlib_resnet" and payload["config"]["input_size"] == 150
    assert payload["config"]["alignment_template"]["name"] == "dlib_chip_150"
    assert str(payload["state_dict"]["fc.weight"].dtype) == "torch.float16"
    assert 0 < payload["metrics"]["same_person_threshold"] < 1
    assert payload["metrics"]["pairs_file"].endswith("pairs_val.txt")  # chosen on val, never on test


def test_embeds_an_album_photo_and_separates_bbt_characters(ml_finetuned: Embedder, ml_albums: Path, ml_detector):
    crops, names = [], []
    for person in ("leonard", "penny", "sheldon"):
        for path in sorted((ml_albums / "bbt" / "characters" / person).iterdir())[:3]:
            image = decode_image(path)
            faces = ml_detector.detect(image.pixels)
            assert faces, path
            crops.append(align_faces(image.pixels, [faces[0].landmarks], ml_finetuned.template)[0])
            names.append(person)
    embeddings = ml_finetuned.embed(np.stack(crops))
    assert embeddings.shape == (9, 128)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    distances = 1 - embeddings @ embeddings.T
    same = np.equal.outer(names, names) & ~np.eye(9, dtype=bool)
    different = ~np.equal.outer(names, names)
    assert distances[same].max() < distances[different].min()

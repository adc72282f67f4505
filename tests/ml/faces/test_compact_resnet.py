"""The compact network trained from scratch: shapes, the crop it looks at, training and
checkpoints through the same code as the dlib network."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ml.faces.align import align_faces
from ml.faces.checkpoint import load_checkpoint, read_checkpoint
from ml.faces.embed import Embedder
from ml.faces.imageio import decode_image
from ml.faces.nets import ARCHITECTURES, build_network
from ml.faces.nets.compact_resnet import CENTRE_CROP, CompactResNet
from ml.learning.train import parse_args
from ml.learning.trainer import Trainer


def test_embeddings_are_unit_vectors_and_the_head_splits_off():
    torch.manual_seed(0)
    model = build_network("compact_resnet").eval()
    x = torch.rand(4, 3, 150, 150) * 255
    with torch.no_grad():
        features = model.forward_features(x)
        out = model(x)
    assert features.shape == (4, 256 * 4 * 4)
    assert out.shape == (4, 128)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4))
    torch.testing.assert_close(model.forward_head(features), out)
    assert ARCHITECTURES["compact_resnet"] is CompactResNet


def test_only_the_centre_of_the_chip_matters():
    torch.manual_seed(0)
    model = build_network("compact_resnet").eval()
    x = torch.rand(2, 3, 150, 150) * 255
    border = (150 - CENTRE_CROP) // 2
    changed_border = x.clone()
    changed_border[:, :, :border] = 0  # every row above the centre crop
    changed_centre = x.clone()
    changed_centre[:, :, 70:80, 70:80] = 0
    with torch.no_grad():
        torch.testing.assert_close(model(changed_border), model(x))
        assert not torch.allclose(model(changed_centre), model(x))


def test_trains_from_scratch_and_round_trips_through_a_checkpoint(ml_toy_cache: Path, tmp_path: Path):
    out = tmp_path / "compact"
    args = parse_args([
        "--out", str(out), "--train-cache", str(ml_toy_cache), "--architecture", "compact_resnet",
        "--p", "3", "--k", "3", "--extra", "1", "--epochs", "3", "--lr", "1e-3", "--warmup", "1",
        "--save-every", "100", "--print-every", "100", "--seed", "1",
    ])
    assert Trainer(args).run().step == 6  # 6 people / p=3 -> 2 batches x 3 epochs
    payload = read_checkpoint(out / "last.pt")
    assert payload["config"]["architecture"] == "compact_resnet" and payload["config"]["input_size"] == 150
    torch.manual_seed(1)
    initial = build_network("compact_resnet").state_dict()
    assert not torch.allclose(payload["state_dict"]["stem.0.weight"], initial["stem.0.weight"])  # the stem trains too

    model, config, _ = load_checkpoint(out / "last.pt")
    crops = np.random.default_rng(0).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    embedder = Embedder(model, config, torch.device("cpu"))
    with torch.no_grad():
        direct = model(torch.from_numpy(crops).permute(0, 3, 1, 2).float()).numpy()
    np.testing.assert_allclose(embedder.embed(crops), direct, atol=1e-6)


SHIPPED = Path(__file__).resolve().parents[3] / "models" / "compact_resnet_scratch.pt"


def test_shipped_checkpoint_is_small_and_calibrated_on_val():
    payload = read_checkpoint(SHIPPED)
    assert SHIPPED.stat().st_size <= 5 * 2**20
    assert payload["config"]["architecture"] == "compact_resnet" and payload["config"]["mirror_average"] is True
    assert str(payload["state_dict"]["fc.weight"].dtype) == "torch.float16"
    assert payload["metrics"]["pairs_file"].endswith("pairs_val.txt") and 0 < payload["metrics"]["same_person_threshold"] < 1


def test_shipped_checkpoint_tells_bbt_characters_apart(ml_albums: Path, ml_detector):
    embedder = Embedder.from_checkpoint(SHIPPED, device="cpu", num_threads=2)
    crops, names = [], []
    for person in ("leonard", "penny", "sheldon"):
        for path in sorted((ml_albums / "bbt" / "characters" / person).iterdir())[:3]:
            image = decode_image(path)
            faces = ml_detector.detect(image.pixels)
            crops.append(align_faces(image.pixels, [faces[0].landmarks], embedder.template)[0])
            names.append(person)
    embeddings = embedder.embed(np.stack(crops))
    distances = 1 - embeddings @ embeddings.T
    np.fill_diagonal(distances, np.inf)
    nearest = np.array(names)[distances.argmin(axis=1)]
    assert list(nearest) == names  # every face's closest other face is the same character

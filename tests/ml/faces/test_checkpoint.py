"""Checkpoint files: round trips, atomic writes, the architecture registry."""
from __future__ import annotations

import hashlib

import pytest
import torch

from ml.faces.align import DLIB_150
from ml.faces.checkpoint import file_sha256, load_checkpoint, save_checkpoint
from ml.faces.nets import ARCHITECTURES
from ml.faces.nets.dlib_resnet import DlibResNet

CONFIG = {**DlibResNet.default_config, "alignment_template": DLIB_150.to_dict()}


@pytest.fixture(scope="module")
def ml_random_model():
    torch.manual_seed(0)
    model = DlibResNet()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.05 + (1.0 if parameter.ndim == 1 else 0.0))
    return model.eval()


def _outputs(model) -> torch.Tensor:
    x = torch.rand(3, 3, 150, 150, generator=torch.Generator().manual_seed(1)) * 255
    with torch.no_grad():
        return model(x)


def test_float32_round_trip_is_exact(tmp_path, ml_random_model):
    path = tmp_path / "m.pt"
    save_checkpoint(path, ml_random_model, config=CONFIG, metrics={"accuracy": 0.5})
    model, config, metrics = load_checkpoint(path)
    assert config == CONFIG and metrics == {"accuracy": 0.5}
    assert not model.training
    torch.testing.assert_close(_outputs(model), _outputs(ml_random_model), rtol=0, atol=0)


def test_float16_round_trip_is_close_and_loads_as_float32(tmp_path, ml_random_model):
    path16, path32 = tmp_path / "m16.pt", tmp_path / "m32.pt"
    save_checkpoint(path16, ml_random_model, config=CONFIG, dtype=torch.float16)
    save_checkpoint(path32, ml_random_model, config=CONFIG)
    assert path16.stat().st_size < 0.6 * path32.stat().st_size
    model, _, _ = load_checkpoint(path16)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    cosine = (_outputs(model) * _outputs(ml_random_model)).sum(dim=1)
    assert cosine.min().item() > 0.999


def test_atomic_write_leaves_only_the_checkpoint(tmp_path, ml_random_model):
    folder = tmp_path / "models"  # tmp_path itself also holds the project's MEDIA_ROOT
    path = folder / "m.pt"
    save_checkpoint(path, ml_random_model, config=CONFIG)
    save_checkpoint(path, ml_random_model, config=CONFIG)  # overwrite in place
    assert [p.name for p in folder.iterdir()] == ["m.pt"]
    with pytest.raises(ValueError, match="alignment_template"):
        save_checkpoint(folder / "bad.pt", ml_random_model, config={"architecture": "dlib_resnet"})
    assert [p.name for p in folder.iterdir()] == ["m.pt"]
    # Readable by other users (a web server or worker running under another account).
    assert path.stat().st_mode & 0o044 == 0o044


def test_file_sha256(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"visage" * 1000)
    assert file_sha256(path) == hashlib.sha256(b"visage" * 1000).hexdigest()


def test_registry_names_the_architecture():
    assert ARCHITECTURES["dlib_resnet"] is DlibResNet

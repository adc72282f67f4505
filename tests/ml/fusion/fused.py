"""A fused model file for tests: dlib v1 + fr_feature under a seeded, untrained head (the
trained head is the one the project ships; the file's layout and maths are the same)."""
from __future__ import annotations

from pathlib import Path

import torch

from ml.fusion.export import export_fused
from ml.fusion.head import FusionHead

BACKBONES = ["dlib", "fr_feature"]


def write_head(path: Path) -> Path:
    """A head file as python -m ml.fusion.train_head writes it."""
    torch.manual_seed(0)
    head = FusionHead([128, 512])
    config = {"backbones": BACKBONES, "dims": [128, 512], "hidden": 0, "dropout": 0.0, "training": {"seed": 0}}
    torch.save({"config": config, "state_dict": head.state_dict(), "summary": {}}, path)
    return path


def export_test_model(folder: Path, name: str = "fused.pt", **extra_config) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / name
    export_fused(write_head(folder / "head.pt"), out, extra_config=extra_config or None, metrics={"note": "test head"})
    return out

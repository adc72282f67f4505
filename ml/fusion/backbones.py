"""The frozen networks a fused model is built from, behind one interface: a name, the
alignment template its crops need, and ``embed(crops) -> (N, D)`` unit vectors.

Torch checkpoints (dlib ResNet, MobileFaceNet) run through ``Embedder``; the ONNX
network fr_feature (faceplugin-face-recognition-js 0.0.1, see models/fr_feature.md) runs
through onnxruntime, the detector's runtime, so the app needs no new dependency.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ml.faces.align import ARCFACE_112, AlignmentTemplate

MODELS = Path(__file__).resolve().parents[2] / "models"


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@dataclass
class Backbone:
    name: str
    template: AlignmentTemplate
    dim: int
    embed: Callable[[np.ndarray], np.ndarray]  # (N, S, S, 3) uint8 RGB -> (N, dim) unit vectors


def torch_backbone(name: str, checkpoint: Path, *, threads: int = 2) -> Backbone:
    from ml.faces.embed import Embedder

    embedder = Embedder.from_checkpoint(checkpoint, num_threads=threads)
    # The single pass: the fusion head sees a face and its mirror image separately.
    return Backbone(name, embedder.template, embedder.embedding_dim,
                    lambda crops: unit(embedder._forward(crops, batch_size=32)))


class OnnxFeature:
    """fr_feature.onnx: (1, 3, 112, 112) BGR, (x - 127) / 128 -> (1, 512). Its input
    has a fixed batch of 1, so faces go one at a time."""

    def __init__(self, path: Path, *, threads: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        # BGR scored better than the package's own RGB on celeba5 val (issue #16).
        batch = (crops[..., ::-1].astype(np.float32) - 127.0) / 128.0
        batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
        out = [self.session.run(None, {self.input: batch[i : i + 1]})[0] for i in range(len(batch))]
        return unit(np.concatenate(out)) if out else np.zeros((0, 512), np.float32)


BACKBONE_NAMES = ("dlib", "mobilefacenet", "fr_feature")
# Where each backbone comes from (files in models/), for the caches here and for
# ml.fusion.export, which puts them into a fused checkpoint.
TORCH_BACKBONE_FILES = {"dlib": "dlib_resnet_v1.pt", "mobilefacenet": "mobilefacenet.pt"}
ONNX_BACKBONES = {"fr_feature": ("fr_feature.onnx", ARCFACE_112, 512)}  # file, alignment, output size


def standard_backbones(names: tuple[str, ...] = BACKBONE_NAMES, *, threads: int = 2) -> list[Backbone]:
    """Of dlib v1 (150, dlib chip), MobileFaceNet (112, ArcFace), fr_feature (112, ArcFace),
    the ones named, in that order."""
    unknown = set(names) - set(BACKBONE_NAMES)
    if unknown:
        raise ValueError(f"unknown backbones {sorted(unknown)}; known: {list(BACKBONE_NAMES)}")

    def make(name: str) -> Backbone:
        if name in TORCH_BACKBONE_FILES:
            return torch_backbone(name, MODELS / TORCH_BACKBONE_FILES[name], threads=threads)
        file, template, dim = ONNX_BACKBONES[name]
        return Backbone(name, template, dim, OnnxFeature(MODELS / file, threads=threads))

    return [make(name) for name in BACKBONE_NAMES if name in names]

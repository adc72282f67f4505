"""A fused model version as the app runs it: the frozen backbones, each run on a face's
crop (aligned to its own template) and on the crop's mirror image, their unit embeddings
concatenated and mapped by the trained FusionHead; the head's outputs for the face and
its mirror image averaged (FusionHead.embed, as the head was trained and scored).

Everything lives in one checkpoint file (format 1, see ml/faces/checkpoint.py), because
workers fetch a version's weights as one file by its sha256 (webapp/faces/runtime.py):

    config       architecture "fused", embedding_dim, input_size and alignment_template
                 of the primary (first) backbone, mirror_average True, backbones (per
                 backbone: name, kind "torch" with its checkpoint config, or kind "onnx"
                 with alignment_template and embedding_dim), head (dims, hidden, dropout)
    state_dict   the head's weights
    backbone_state   per torch backbone, its network's weights
    onnx         per ONNX backbone, the model file's bytes as a uint8 tensor
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ml.constants import EMBEDDING_DIM
from ml.faces.align import AlignmentTemplate
from ml.faces.embed import Embedder
from ml.fusion.backbones import OnnxFeature, unit
from ml.fusion.head import FusionHead

# (N, S, S, 3) uint8 RGB crops, batch size -> (N, D) unit vectors
Network = Callable[[np.ndarray, int], np.ndarray]


class FusedEmbedder:
    def __init__(self, networks: list[tuple[AlignmentTemplate, Network]], head: FusionHead, config: dict) -> None:
        self.networks = networks
        self.head = head.eval()
        self.config = config
        # The primary template's crop is the one the app stores and shows for a face.
        self.templates = tuple(template for template, _ in networks)
        self.template = self.templates[0]
        self.input_size = self.template.size
        self.embedding_dim = int(config.get("embedding_dim", EMBEDDING_DIM))
        self.mirror_average = True  # the head was trained and scored on mirror-averaged outputs

    @classmethod
    def from_payload(cls, payload: dict, *, device: str | None = None, num_threads: int | None = None) -> "FusedEmbedder":
        config = payload["config"]
        threads = num_threads or torch.get_num_threads()
        networks = [_network(spec, payload, device=device, threads=threads) for spec in config["backbones"]]
        head = FusionHead(config["head"]["dims"], hidden=config["head"]["hidden"], dim=int(config["embedding_dim"]),
                          dropout=config["head"]["dropout"])
        head.load_state_dict(payload["state_dict"])
        return cls(networks, head, config)

    def embed(self, crops: tuple[np.ndarray, ...], *, batch_size: int = 32) -> np.ndarray:
        """One (N, S_i, S_i, 3) uint8 RGB array of aligned crops per template, in
        ``templates`` order -> (N, embedding_dim) float32 unit vectors."""
        parts, mirrors = self.features(crops, batch_size=batch_size)
        if len(parts[0]) == 0:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        return self.head.embed(parts, mirrors).astype(np.float32)

    def features(self, crops: tuple[np.ndarray, ...], *, batch_size: int = 32) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """What the head maps: per backbone the (N, D_i) unit embeddings of the crops and of
        their mirror images. Retraining caches these once and fine-tunes the head on them."""
        if not isinstance(crops, tuple) or len(crops) != len(self.templates):
            raise ValueError(f"expected a tuple of {len(self.templates)} crop arrays, one per template")
        for array, template in zip(crops, self.templates):
            if array.ndim != 4 or array.shape[1:] != (template.size, template.size, 3) or len(array) != len(crops[0]):
                raise ValueError(f"expected ({len(crops[0])}, {template.size}, {template.size}, 3) crops, got {array.shape}")
        count = len(crops[0])
        if count == 0:
            empty = [np.zeros((0, dim), np.float32) for dim in self.head.dims]
            return empty, [part.copy() for part in empty]
        parts, mirrors = [], []
        for (_, network), array in zip(self.networks, crops):
            # The crop and its mirror image in one run of the network.
            both = network(np.concatenate([array, array[:, :, ::-1]]), batch_size)
            parts.append(both[:count])
            mirrors.append(both[count:])
        return parts, mirrors


def _network(spec: dict, payload: dict, *, device: str | None, threads: int) -> tuple[AlignmentTemplate, Network]:
    name = spec["name"]
    if spec["kind"] == "torch":
        embedder = Embedder.from_payload({"config": spec["config"], "state_dict": payload["backbone_state"][name]},
                                         device=device, num_threads=threads)
        # The single pass: the head wants the face and its mirror image separately.
        return embedder.template, lambda crops, batch_size: unit(embedder._forward(crops, batch_size))
    if spec["kind"] == "onnx":
        feature = onnx_feature(payload["onnx"][name].numpy().tobytes(), threads=threads)
        # The graph has a fixed batch of 1: OnnxFeature runs the faces one at a time.
        return AlignmentTemplate.from_dict(spec["alignment_template"]), lambda crops, _batch_size: feature(crops)
    raise ValueError(f"backbone {name}: unknown kind {spec['kind']!r}")


def onnx_feature(model: bytes, *, threads: int) -> OnnxFeature:
    """OnnxFeature of a model held in memory. It opens a path; onnxruntime has read the
    model once the session exists, so the temporary file goes at once."""
    handle, temp = tempfile.mkstemp(suffix=".onnx")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(model)
        return OnnxFeature(Path(temp), threads=threads)
    finally:
        os.unlink(temp)

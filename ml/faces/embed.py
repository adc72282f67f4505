"""Embedding aligned face crops with a checkpointed network, on CUDA when present."""
from __future__ import annotations

import os

import numpy as np
import torch

from ml.faces.align import AlignmentTemplate
from ml.faces.checkpoint import FUSED_ARCHITECTURE, network_from_state, read_checkpoint
from ml.constants import EMBEDDING_DIM


def mirror_averaged(embed, crops: np.ndarray) -> np.ndarray:
    """normalise(f(x) + f(mirror(x))) for (N, S, S, 3) crops -> (N, D) float32 unit vectors.

    A face and its mirror image are the same person; averaging the two embeddings cancels
    part of the pose and lighting noise (bench/flip_tta.py: VAL at FAR=1e-3 on celeba5 val
    70.8 -> 81.3 % for dlib v1) for a second pass of the network."""
    both = embed(crops) + embed(np.ascontiguousarray(crops[:, :, ::-1]))
    return (both / np.linalg.norm(both, axis=1, keepdims=True)).astype(np.float32)


def pick_device(device: str | None = None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


class Embedder:
    def __init__(self, model: torch.nn.Module, config: dict, device: torch.device) -> None:
        self.model = model
        self.config = config
        self.device = device
        self.template = AlignmentTemplate.from_dict(config["alignment_template"])
        # What the pipeline aligns each face to, one crop per template (a fused model has several).
        self.templates = (self.template,)
        self.input_size = int(config["input_size"])
        self.embedding_dim = int(config.get("embedding_dim", EMBEDDING_DIM))
        # A checkpoint exported with --mirror-average embeds each face with its mirror image.
        self.mirror_average = bool(config.get("mirror_average"))

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, *, device: str | None = None, num_threads: int | None = None
    ) -> "Embedder":
        return cls.from_payload(read_checkpoint(path), device=device, num_threads=num_threads)

    @classmethod
    def from_payload(cls, payload: dict, *, device: str | None = None, num_threads: int | None = None) -> "Embedder":
        """From a checkpoint's ``config`` and ``state_dict`` (a fused checkpoint holds such
        a pair per torch backbone)."""
        if num_threads:
            torch.set_num_threads(num_threads)
        resolved = pick_device(device)
        return cls(network_from_state(payload["config"], payload["state_dict"], resolved), payload["config"], resolved)

    def embed(self, crops: np.ndarray | tuple[np.ndarray], *, batch_size: int = 32) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB aligned crops -> (N, 128) float32 unit vectors. The crops
        may come as a 1-tuple, one array per template, as the pipeline passes them."""
        if isinstance(crops, tuple):
            if len(crops) != 1:
                raise ValueError(f"expected one array of crops (one template), got {len(crops)}")
            crops = crops[0]
        if len(crops) == 0:
            return np.zeros((0, self.embedding_dim), dtype=np.float32)
        if crops.ndim != 4 or crops.shape[1:] != (self.input_size, self.input_size, 3):
            raise ValueError(f"expected (N, {self.input_size}, {self.input_size}, 3) crops, got {crops.shape}")
        if self.mirror_average:
            return mirror_averaged(lambda c: self._forward(c, batch_size), crops)
        return self._forward(crops, batch_size)

    def _forward(self, crops: np.ndarray, batch_size: int) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(crops), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(crops[start : start + batch_size]))
                batch = batch.to(self.device).permute(0, 3, 1, 2).float()
                out.append(self.model(batch).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32)


def load_embedder(path: str | os.PathLike, *, device: str | None = None, num_threads: int | None = None):
    """The embedder of any registered checkpoint: an Embedder, or for architecture "fused"
    a FusedEmbedder (ml/fusion/model.py). Both have templates, template, input_size,
    embedding_dim, config and embed(crops)."""
    payload = read_checkpoint(path)
    if payload["config"]["architecture"] != FUSED_ARCHITECTURE:
        return Embedder.from_payload(payload, device=device, num_threads=num_threads)
    from ml.fusion.model import FusedEmbedder  # it builds on Embedder: imported here, not above

    return FusedEmbedder.from_payload(payload, device=device, num_threads=num_threads)

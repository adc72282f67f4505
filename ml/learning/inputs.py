"""How a batch reaches the network during training: as crops through the whole network, or
as cached outputs of its frozen part through the trained tail only.

Both give the embeddings the loss sees (``train_embeddings``, with gradients) and those
validation judges (``val_embeddings``, the network in eval mode). A mirror-averaged model is
used as normalise(f(x) + f(mirror(x))) (ml.faces.embed), so both train and validate that
embedding, not the plain f(x) it is made of: the loss and the model selection judge what the
app will compare.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ml.faces.embed import Embedder
from ml.faces.nets import EmbeddingNetwork
from ml.learning.augment import augment_batch
from ml.learning.facecache import FaceCache


class CropInputs:
    """Crops through the whole network, augmented when asked."""

    def __init__(self, model: EmbeddingNetwork, config: dict, train_cache: FaceCache, val_cache: FaceCache | None, *,
                 augment: bool, device: torch.device) -> None:
        """config: the checkpoint config (input size, alignment template, mirror_average)."""
        self.model, self.train_cache, self.val_cache = model, train_cache, val_cache
        self.augment, self.mirror, self.device = augment, bool(config.get("mirror_average")), device
        self.embedder = Embedder(model, config, device)

    def train_embeddings(self, indices: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        crops = self.train_cache.crops[indices]
        x = torch.from_numpy(augment_batch(crops, rng) if self.augment else crops.astype(np.float32))
        x = x.to(self.device).permute(0, 3, 1, 2)
        embeddings = self.model(x)
        if self.mirror:
            embeddings = torch.nn.functional.normalize(embeddings + self.model(x.flip(3)), dim=1)
        return embeddings

    def val_embeddings(self, rows: np.ndarray) -> np.ndarray:
        return self.embedder.embed(np.asarray(self.val_cache.crops[rows]), batch_size=128)


class FeatureInputs:
    """The frozen part's outputs, cached once per face (and per flipped face), through the
    trained tail: a step costs only the tail. Augmentation is then flips only."""

    def __init__(self, model: EmbeddingNetwork, split: str, train: tuple[FaceCache, Path],
                 val: tuple[FaceCache, Path] | None, *, augment: bool, mirror: bool, device: torch.device,
                 log: Callable[[str], None]) -> None:
        """train, val: a cache and the file that keeps its features."""
        self.model, self.split, self.mirror, self.device = model, split, mirror, device
        self.train = cached_features(model, split, *train, flips=augment or mirror, device=device, log=log)
        self.val = cached_features(model, split, *val, flips=mirror, device=device, log=log) if val else None

    def _tail(self, feats: np.ndarray, rows: np.ndarray, variants: np.ndarray | int) -> torch.Tensor:
        """Embeddings of cached-feature rows: of the given variant per row (0 plain, 1
        flipped), or mirror-averaged over both when the model is."""
        def variant(v) -> torch.Tensor:
            h = torch.from_numpy(np.asarray(feats[v, rows], np.float32)).to(self.device)
            return self.model.forward_from(h, self.split)

        if self.mirror:
            return torch.nn.functional.normalize(variant(0) + variant(1), dim=1)
        return variant(variants)

    def train_embeddings(self, indices: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        return self._tail(self.train, indices, rng.integers(0, self.train.shape[0], len(indices)))

    @torch.no_grad()
    def val_embeddings(self, rows: np.ndarray) -> np.ndarray:
        return np.concatenate([self._tail(self.val, rows[i : i + 512], 0).cpu().numpy()
                               for i in range(0, len(rows), 512)])


@torch.no_grad()
def cached_features(model: EmbeddingNetwork, split: str, cache: FaceCache, path: Path, *, flips: bool,
                    device: torch.device, log: Callable[[str], None] = print) -> np.ndarray:
    """(F, N, C, H, W) float16 outputs of the part before ``split`` for every cached crop
    (F = 2 with the horizontally flipped crop as the second), computed once (network in
    eval mode) and kept at ``path``."""
    variants = 2 if flips else 1
    meta_path = path.with_suffix(".json")
    if path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("variants") == variants and meta.get("rows") == len(cache.paths):
            return np.load(path, mmap_mode="r")
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    probe = model.forward_until(torch.zeros(1, 3, *cache.crops.shape[1:3]).to(device), split)
    temp = path.with_name(f".{path.name}.tmp.npy")
    feats = np.lib.format.open_memmap(temp, mode="w+", dtype=np.float16, shape=(variants, len(cache.paths), *probe.shape[1:]))
    for v in range(variants):
        for begin in range(0, len(cache.paths), 256):
            crops = np.asarray(cache.crops[begin : begin + 256])
            if v == 1:
                crops = crops[:, :, ::-1]
            x = torch.from_numpy(np.array(crops)).to(device).permute(0, 3, 1, 2).float()
            feats[v, begin : begin + len(crops)] = model.forward_until(x, split).cpu().numpy().astype(np.float16)
            if begin % 5120 == 0:
                log(f"features {path.name}: variant {v + 1}/{variants}, {begin}/{len(cache.paths)}, "
                    f"{time.perf_counter() - start:.0f} s")
    feats.flush()
    del feats
    model.train(was_training)
    os.replace(temp, path)
    meta_path.write_text(json.dumps({"variants": variants, "rows": len(cache.paths)}))
    return np.load(path, mmap_mode="r")

"""A split's cached backbone features, ready for training or for the pairs benchmark."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.fusion.features import load_features
from ml.learning.landmarks import load_landmarks

BACKBONES = ("dlib", "mobilefacenet", "fr_feature")


@dataclass
class FeatureSplit:
    paths: list[str]  # <person>/<file>
    parts: list[np.ndarray]  # per backbone (N, D_i) unit embeddings
    mirrors: list[np.ndarray] | None  # the same of the mirror images (None: not cached)
    root: Path
    pairs_file: Path | None

    @property
    def people(self) -> list[str]:
        return [p.split("/")[0] for p in self.paths]

    def verify(self, embeddings: np.ndarray) -> dict:
        """ml.evaluation.evaluate's metrics on this split's pairs; a pair image without a
        face (no row) scores at the worst distance, as there."""
        from ml.evaluation.evaluate import verification
        from ml.evaluation.verification import read_pairs

        pairs = read_pairs(self.pairs_file, self.root)
        rows = {self.root / path: vector for path, vector in zip(self.paths, embeddings)}
        images = {p for pair in pairs for p in (pair.path_a, pair.path_b)}
        return verification(pairs, {p: rows.get(p) for p in images})


def load_split(folder: Path, backbones: tuple[str, ...] = BACKBONES) -> FeatureSplit:
    meta = json.loads((Path(folder) / "meta.json").read_text())
    marks = load_landmarks(Path(meta["landmarks"]), partial=meta.get("partial", False))
    features, paths = load_features(folder, marks)
    mirrors = [features[f"{b}_mirror"] for b in backbones] if f"{backbones[0]}_mirror" in features else None
    return FeatureSplit(paths, [features[b] for b in backbones], mirrors, marks.root,
                        Path(meta["pairs"]) if meta["pairs"] else None)

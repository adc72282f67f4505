"""A split's cached backbone features, ready for training or for the pairs benchmark."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.fusion.backbones import BACKBONE_NAMES
from ml.fusion.features import load_features
from ml.learning.landmarks import load_landmarks


@dataclass
class FeatureSplit:
    paths: list[str]  # <person>/<file>
    features: dict[str, np.ndarray]  # backbone name -> (N, D) unit embeddings
    mirrors: dict[str, np.ndarray] | None  # the same of the mirror images (None: not cached)
    root: Path
    pairs_file: Path | None

    @property
    def people(self) -> list[str]:
        return [p.split("/")[0] for p in self.paths]

    @property
    def backbones(self) -> tuple[str, ...]:
        return tuple(self.features)

    def parts(self, names: tuple[str, ...]) -> list[np.ndarray]:
        return [self.features[name] for name in names]

    def mirror_parts(self, names: tuple[str, ...]) -> list[np.ndarray] | None:
        return None if self.mirrors is None else [self.mirrors[name] for name in names]

    def subset(self, index: np.ndarray) -> "FeatureSplit":
        take = lambda arrays: None if arrays is None else {name: a[index] for name, a in arrays.items()}  # noqa: E731
        return FeatureSplit([self.paths[i] for i in index], take(self.features), take(self.mirrors), self.root, self.pairs_file)

    def verify(self, embeddings: np.ndarray) -> dict:
        """ml.evaluation.evaluate's metrics on this split's pairs; a pair image without a
        face (no row) scores at the worst distance, as there."""
        from ml.evaluation.evaluate import verification
        from ml.evaluation.verification import read_pairs

        pairs = read_pairs(self.pairs_file, self.root)
        rows = {self.root / path: vector for path, vector in zip(self.paths, embeddings)}
        images = {p for pair in pairs for p in (pair.path_a, pair.path_b)}
        return verification(pairs, {p: rows.get(p) for p in images})


def load_split(folder: Path) -> FeatureSplit:
    """Every backbone the cache holds (``ml.fusion.features --backbones``), in
    BACKBONE_NAMES order."""
    meta = json.loads((Path(folder) / "meta.json").read_text())
    marks = load_landmarks(Path(meta["landmarks"]), partial=meta.get("partial", False))
    cached, paths = load_features(folder, marks)
    names = [name for name in BACKBONE_NAMES if name in cached]
    mirrors = {name: cached[f"{name}_mirror"] for name in names} if f"{names[0]}_mirror" in cached else None
    return FeatureSplit(paths, {name: cached[name] for name in names}, mirrors, marks.root,
                        Path(meta["pairs"]) if meta["pairs"] else None)

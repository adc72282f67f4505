"""Face verification on LFW "View 2" pairs files: reading them and the standard metrics.

Distances are cosine distances (smaller = more alike); a pair is called "same" when its
distance is <= the threshold.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ml.learning.facecache import FaceCache

IMAGE_EXTENSIONS = ("webp", "jpg", "jpeg", "png")
# The cosine distance given to a pair with an undetected face: failures cost accuracy
# instead of vanishing.
WORST_DISTANCE = 2.0


@dataclass(frozen=True)
class Pair:
    path_a: Path
    path_b: Path
    same: bool
    fold: int


def image_path(root: Path, name: str, number: int) -> Path:
    for ext in IMAGE_EXTENSIONS:
        candidate = root / name / f"{name}_{number:04d}.{ext}"
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no image {name} #{number} under {root} ({'/'.join(IMAGE_EXTENSIONS)})")


def read_pairs(path: str | Path, root: str | Path) -> list[Pair]:
    """Pairs of a View-2 file: a header 'folds<TAB>n', then per fold n same and n different."""
    root = Path(root)
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    folds, per_kind = int(lines[0][0]), int(lines[0][1])
    body = lines[1:]
    if len(body) != folds * per_kind * 2:
        raise ValueError(f"{path}: expected {folds * per_kind * 2} pairs, found {len(body)}")
    pairs = []
    for index, fields in enumerate(body):
        fold = index // (2 * per_kind)
        if len(fields) == 3:
            name, a, b = fields
            pairs.append(Pair(image_path(root, name, int(a)), image_path(root, name, int(b)), True, fold))
        elif len(fields) == 4:
            name_a, a, name_b, b = fields
            pairs.append(Pair(image_path(root, name_a, int(a)), image_path(root, name_b, int(b)), False, fold))
        else:
            raise ValueError(f"{path}: line {index + 2} has {len(fields)} fields")
    return pairs


def best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """The threshold with the highest accuracy on these pairs (midpoint between distances)."""
    order = np.sort(np.unique(distances))
    candidates = np.concatenate([[order[0] - 1e-6], (order[:-1] + order[1:]) / 2, [order[-1] + 1e-6]])
    predicted = distances[None, :] <= candidates[:, None]
    accuracy = (predicted == same[None, :]).mean(axis=1)
    return float(candidates[int(np.argmax(accuracy))])


def kfold_accuracy(distances, same, folds) -> tuple[float, float, list[float]]:
    """Mean and std of per-fold accuracy, each fold's threshold chosen on the other folds."""
    distances, same, folds = np.asarray(distances, float), np.asarray(same, bool), np.asarray(folds)
    accuracies, thresholds = [], []
    for fold in np.unique(folds):
        test = folds == fold
        threshold = best_threshold(distances[~test], same[~test])
        thresholds.append(threshold)
        accuracies.append(float(((distances[test] <= threshold) == same[test]).mean()))
    return float(np.mean(accuracies)), float(np.std(accuracies)), thresholds


def val_at_far(distances, same, far: float = 1e-3) -> tuple[float, float]:
    """(VAL, threshold): the share of same pairs accepted at the largest threshold whose
    false-accept rate on different pairs is <= far."""
    distances, same = np.asarray(distances, float), np.asarray(same, bool)
    different = np.sort(distances[~same])
    allowed = int(np.floor(far * len(different)))  # different pairs we may accept
    # Accept strictly below the (allowed+1)-th smallest different distance.
    threshold = different[allowed] - 1e-9 if allowed < len(different) else np.inf
    return float((distances[same] <= threshold).mean()), float(threshold)


def roc_auc(distances, same) -> float:
    """Probability that a random same pair is closer than a random different pair (ties 1/2)."""
    distances, same = np.asarray(distances, float), np.asarray(same, bool)
    ranks = _average_ranks(-distances)  # higher score = more likely same
    n_same, n_diff = same.sum(), (~same).sum()
    return float((ranks[same].sum() - n_same * (n_same + 1) / 2) / (n_same * n_diff))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


class PairsValidator:
    """The verification metrics on a pairs file (10-fold accuracy with the threshold chosen
    on the other folds, VAL at FAR = 1e-3, ROC AUC), from cached crops: the same crops
    ml.evaluation.evaluate would produce, embedded once per call."""

    def __init__(self, cache: FaceCache, pairs_file: Path, *, every: int = 1) -> None:
        """every: use every n-th pair only (a quick check that keeps all folds)."""
        root = Path(cache.root)
        index = cache.index_of()
        pairs = read_pairs(pairs_file, root)[::every]
        rel = lambda p: str(Path(p).relative_to(root))  # noqa: E731
        self.a = np.array([index[rel(p.path_a)] for p in pairs])
        self.b = np.array([index[rel(p.path_b)] for p in pairs])
        self.same = np.array([p.same for p in pairs])
        self.folds = np.array([p.fold for p in pairs])
        used = np.unique(np.concatenate([self.a, self.b]))
        self.rows = used[cache.ok[used]]
        self.cache = cache

    def __call__(self, embed_rows: Callable[[np.ndarray], np.ndarray]) -> dict:
        """embed_rows: (R,) row indices of the cache -> (R, D) unit vectors."""
        vectors = embed_rows(self.rows)
        embeddings = np.zeros((len(self.cache.paths), vectors.shape[1]), np.float32)
        embeddings[self.rows] = vectors
        distances = 1.0 - (embeddings[self.a] * embeddings[self.b]).sum(axis=1)
        failed = ~(self.cache.ok[self.a] & self.cache.ok[self.b])
        distances[failed] = WORST_DISTANCE
        accuracy, std, thresholds = kfold_accuracy(distances, self.same, self.folds)
        val, _ = val_at_far(distances, self.same, 1e-3)
        # A collapsed network (f(x) = constant) shows as a tiny spread of all distances.
        return {"val_accuracy": accuracy, "val_accuracy_std": std, "val_at_far_1e-3": val,
                "val_auc": roc_auc(distances, self.same), "val_threshold": float(np.median(thresholds)),
                "val_distance_spread": float(distances[~failed].std())}

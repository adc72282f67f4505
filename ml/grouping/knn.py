"""Who is this? A k-nearest-neighbour vote over faces that already carry a name.

Pure numpy so the search pages, the naming propagation and the benchmarks share it.
"""
from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Guess:
    label: Hashable | None  # None: unknown, nothing named is close enough
    confidence: float  # in [0, 1]: the winner's weight over max(total weight, 1)
    votes: int  # neighbours within the threshold that voted for ``label``
    distance: float  # distance of the closest neighbour with ``label`` (inf when unknown)


def knn_guess(
    distances: Sequence[float] | np.ndarray,
    labels: Sequence[Hashable],
    *,
    threshold: float,
    k: int = 10,
) -> Guess:
    """Weighted vote of the ``k`` nearest labelled neighbours within ``threshold``.

    distances: (N,) cosine distances from the query to labelled faces, any order.
    labels: (N,) the label of each of those faces.
    Each neighbour within the threshold votes with weight (1 - d / threshold), so a
    neighbour at the threshold counts nothing and an identical face counts fully.
    The confidence is the winner's weight divided by max(total weight, 1): it is high
    only when the neighbours agree AND there is at least one face's worth of close
    evidence, so a lone neighbour near the threshold gives a low confidence.
    """
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 1 or len(d) != len(labels):
        raise ValueError(f"distances {d.shape} and labels ({len(labels)}) must be 1-D and the same length")
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    order = np.argsort(d, kind="stable")[:k]
    weights: dict[Hashable, float] = {}
    counts: dict[Hashable, int] = {}
    nearest: dict[Hashable, float] = {}
    for index in order:
        if d[index] >= threshold:
            break
        label = labels[index]
        weights[label] = weights.get(label, 0.0) + (1.0 - d[index] / threshold)
        counts[label] = counts.get(label, 0) + 1
        nearest.setdefault(label, float(d[index]))
    total = sum(weights.values())
    if total <= 0:
        return Guess(None, 0.0, 0, float("inf"))
    winner = max(weights, key=lambda label: (weights[label], -nearest[label]))
    return Guess(winner, weights[winner] / max(total, 1.0), counts[winner], nearest[winner])

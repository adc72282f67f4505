"""P x K batch sampling for online triplet mining (FaceNet §3.2).

Each batch holds P identities with exactly K faces each (so every face has K-1
positives in the batch) plus ``extra`` further identities with one face each, which can
only serve as negatives. Batches are a pure function of (seed, epoch), so a resumed run
sees the same batches it would have seen.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


class PKSampler:
    def __init__(
        self,
        labels: Sequence[int] | np.ndarray,
        *,
        p: int,
        k: int,
        extra: int = 0,
        eligible: Sequence[bool] | np.ndarray | None = None,
        seed: int = 0,
    ) -> None:
        """labels: (N,) identity id per face; eligible: (N,) bool, faces that may be drawn
        (e.g. those where the detector found a face); p identities x k faces per batch,
        plus ``extra`` identities with one face each as additional negatives."""
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError("labels must be a non-empty 1-D sequence of identity ids")
        for name, value, low in (("p", p, 1), ("k", k, 2), ("extra", extra, 0)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}" + (
                    " (a triplet needs at least two faces of an identity)" if name == "k" else ""))
        eligible = np.ones(len(labels), bool) if eligible is None else np.asarray(eligible, bool)
        if eligible.shape != labels.shape:
            raise ValueError(f"eligible has shape {eligible.shape}, labels {labels.shape}")
        self.p, self.k, self.extra, self.seed = int(p), int(k), int(extra), int(seed)
        self.faces: dict[int, np.ndarray] = {}
        for label in np.unique(labels[eligible]):
            self.faces[int(label)] = np.flatnonzero(eligible & (labels == label))
        self.identities = np.array(sorted(i for i, f in self.faces.items() if len(f) >= self.k))
        if len(self.identities) == 0:
            most = max((len(f) for f in self.faces.values()), default=0)
            raise ValueError(f"k={k} faces per identity asked for, but no identity has that many (most: {most})")
        if len(self.identities) < self.p:
            raise ValueError(f"p={p} identities per batch asked for, but only {len(self.identities)} have >= {k} faces")
        if len(self.faces) < self.p + self.extra:
            raise ValueError(f"p + extra = {self.p + self.extra} identities per batch, but only {len(self.faces)} exist")

    @property
    def batch_size(self) -> int:
        return self.p * self.k + self.extra

    def __len__(self) -> int:
        """Batches per epoch: each identity with >= k faces is a P-identity once."""
        return len(self.identities) // self.p

    def epoch(self, epoch: int) -> Iterator[np.ndarray]:
        """The batches of one epoch: (p*k + extra,) face indices each."""
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(self.identities)
        all_identities = np.array(sorted(self.faces))
        for b in range(len(self)):
            chosen = order[b * self.p : (b + 1) * self.p]
            batch = [rng.choice(self.faces[int(i)], self.k, replace=False) for i in chosen]
            if self.extra:
                others = np.setdiff1d(all_identities, chosen)
                for i in rng.choice(others, self.extra, replace=False):
                    batch.append(rng.choice(self.faces[int(i)], 1))
            yield np.concatenate(batch)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.epoch(0)

"""Grouping only the faces good enough to be grouped (ml/faces/quality.py)."""
from __future__ import annotations

import numpy as np

from ml.grouping.cluster import group_embeddings


def group_usable(embeddings: np.ndarray, photo_ids: np.ndarray, usable: np.ndarray, **options) -> np.ndarray:
    """(N,) labels of ``group_embeddings`` run on the faces where ``usable`` is true; the
    others are left unsorted (-1), so a poor face neither seeds a group nor joins one,
    nor bridges two groups on the way."""
    usable = np.asarray(usable, dtype=bool)
    labels = np.full(len(embeddings), -1, dtype=int)
    if usable.any():
        labels[usable] = group_embeddings(np.asarray(embeddings)[usable], np.asarray(photo_ids)[usable], **options)
    return labels

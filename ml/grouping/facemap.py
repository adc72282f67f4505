"""A 2-D map of face embeddings (t-SNE), for seeing which groups are tight and which overlap."""
from __future__ import annotations

import numpy as np

PCA_DIMS = 50


def project_2d(embeddings: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """(N, D) embeddings -> (N, 2) coordinates scaled into [0, 1].

    PCA to 50 dimensions first (the usual t-SNE preparation, and much faster); perplexity
    shrinks for small libraries, which t-SNE needs (perplexity < N / 3)."""
    n = len(embeddings)
    if n == 0:
        return np.zeros((0, 2))
    if n < 4:
        points = np.column_stack([np.linspace(0.2, 0.8, n), np.full(n, 0.5)])
        return points
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = np.asarray(embeddings, dtype=np.float64)
    if x.shape[1] > PCA_DIMS and n > PCA_DIMS:
        x = PCA(n_components=PCA_DIMS, random_state=seed).fit_transform(x)
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3.5)))
    points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine").fit_transform(x)
    points -= points.min(axis=0)
    return points / max(float(points.max()), 1e-12)

"""The triplet loss of FaceNet (Schroff, Kalenichenko, Philbin 2015, eq. 1).

Embeddings are L2-normalised; distances are squared Euclidean, so they lie in [0, 4]
and equal twice the cosine distance the app uses (alpha 0.2 here = 0.1 in cosine).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


def pairwise_squared_distances(embeddings: torch.Tensor) -> torch.Tensor:
    """(N, D) unit vectors -> (N, N) squared L2 distances, clamped at 0 (rounding)."""
    gram = embeddings @ embeddings.T
    norms = gram.diagonal()
    return (norms[:, None] + norms[None, :] - 2 * gram).clamp_min(0)


@dataclass
class TripletLossOutput:
    loss: torch.Tensor  # scalar, mean over active triplets (0 with a graph when none is active)
    active: int  # triplets with a positive loss
    total: int
    mean_positive: float  # mean ||f(a)-f(p)||^2 over the triplets
    mean_negative: float  # mean ||f(a)-f(n)||^2


def triplet_loss(
    embeddings: torch.Tensor,
    anchors: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    *,
    alpha: float = 0.2,
) -> TripletLossOutput:
    """max(||a-p||^2 - ||a-n||^2 + alpha, 0), averaged over the triplets whose loss is > 0.

    embeddings: (N, D) L2-normalised; anchors/positives/negatives: (T,) row indices.
    Averaging over the active triplets only keeps the gradient from shrinking as more
    triplets are satisfied during training (an average over all would fade to nothing).
    """
    if not (len(anchors) == len(positives) == len(negatives)):
        raise ValueError("anchors, positives and negatives need the same length")
    if len(anchors) == 0:
        zero = embeddings.sum() * 0.0
        return TripletLossOutput(zero, 0, 0, float("nan"), float("nan"))
    a, p, n = embeddings[anchors], embeddings[positives], embeddings[negatives]
    d_ap = (a - p).pow(2).sum(dim=1)
    d_an = (a - n).pow(2).sum(dim=1)
    losses = torch.relu(d_ap - d_an + alpha)
    active = losses > 0
    count = int(active.sum())
    loss = losses[active].mean() if count else losses.sum() * 0.0
    return TripletLossOutput(loss, count, len(anchors), float(d_ap.detach().mean()), float(d_an.detach().mean()))

"""Online triplet selection inside a mini-batch (FaceNet §3.2), run under no_grad.

Every anchor-positive pair of the batch is used (both orders). Its negative:

- ``semihard`` (default): a negative farther than the positive but inside the margin,
  ||f(a)-f(p)||^2 < ||f(a)-f(n)||^2 < ||f(a)-f(p)||^2 + alpha; of those, the closest one
  (the hardest of the semi-hard ones).
  Fallback when the pair has no semi-hard negative:
    * if some negatives are closer than the positive (only hard ones are left inside the
      margin), take the farthest of those, the least hard of the hard negatives: the pair
      still learns, without the hardest negatives that the paper says lead to collapse;
    * otherwise every negative is beyond the margin, the triplet's loss is already 0,
      and the pair is skipped.
- ``hardest``: the closest negative, whatever its distance (the rule the paper warns
  about; kept to show whether it collapses f(x) to a constant).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ml.learning.losses import pairwise_squared_distances

STRATEGIES = ("semihard", "hardest")


@dataclass
class MinedTriplets:
    anchors: torch.Tensor  # (T,) long row indices
    positives: torch.Tensor
    negatives: torch.Tensor
    pairs: int  # anchor-positive pairs in the batch
    semihard: int  # pairs whose negative is semi-hard
    fallback: int  # pairs that took the least-hard hard negative
    skipped: int  # pairs without a usable negative (all beyond the margin, or no negative at all)


@torch.no_grad()
def mine_triplets(
    embeddings: torch.Tensor, labels: torch.Tensor, *, alpha: float = 0.2, strategy: str = "semihard"
) -> MinedTriplets:
    """embeddings: (N, D) unit vectors; labels: (N,) identity ids. See the module doc."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown mining strategy {strategy!r}; choose one of {STRATEGIES}")
    if embeddings.ndim != 2 or labels.shape != (embeddings.shape[0],):
        raise ValueError(f"need (N, D) embeddings and (N,) labels, got {tuple(embeddings.shape)} and {tuple(labels.shape)}")
    distances = pairwise_squared_distances(embeddings.detach().float())
    labels = labels.to(distances.device)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=distances.device)
    anchors, positives = torch.nonzero(same & ~eye, as_tuple=True)
    empty = torch.zeros(0, dtype=torch.long, device=distances.device)
    if len(anchors) == 0:
        return MinedTriplets(empty, empty, empty, 0, 0, 0, 0)

    d_ap = distances[anchors, positives][:, None]  # (T, 1)
    d_an = distances[anchors]  # (T, N)
    is_negative = ~same[anchors]  # (T, N)
    inf = torch.tensor(float("inf"), device=distances.device)
    has_negative = is_negative.any(dim=1)

    if strategy == "hardest":
        negatives = torch.where(is_negative, d_an, inf).argmin(dim=1)
        keep = has_negative
        semihard_count = fallback_count = 0
        chosen = negatives
    else:
        semi = is_negative & (d_an > d_ap) & (d_an < d_ap + alpha)
        hard = is_negative & (d_an <= d_ap)
        semi_choice = torch.where(semi, d_an, inf).argmin(dim=1)
        hard_choice = torch.where(hard, d_an, -inf).argmax(dim=1)
        has_semi, has_hard = semi.any(dim=1), hard.any(dim=1)
        chosen = torch.where(has_semi, semi_choice, hard_choice)
        use_fallback = ~has_semi & has_hard
        keep = has_semi | use_fallback
        semihard_count, fallback_count = int(has_semi.sum()), int(use_fallback.sum())

    return MinedTriplets(
        anchors[keep], positives[keep], chosen[keep],
        pairs=len(anchors), semihard=semihard_count, fallback=fallback_count, skipped=int((~keep).sum()),
    )

"""Triplet loss, online mining and P x K sampling: values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ml.learning.losses import pairwise_squared_distances, triplet_loss
from ml.learning.mining import mine_triplets
from ml.learning.sampling import PKSampler


def unit(*angles_deg: float) -> torch.Tensor:
    """Unit vectors on a circle: squared distance between angles a, b is 2 - 2 cos(a - b)."""
    radians = torch.tensor(angles_deg, dtype=torch.float64) * math.pi / 180
    return torch.stack([torch.cos(radians), torch.sin(radians)], dim=1)


def sq(a: float, b: float) -> float:
    return 2 - 2 * math.cos(math.radians(a - b))


# ---------------------------------------------------------------- loss


def test_pairwise_squared_distances_match_hand_values():
    d = pairwise_squared_distances(unit(0, 90, 180))
    assert torch.allclose(d, torch.tensor([[0, 2, 4], [2, 0, 2], [4, 2, 0]], dtype=torch.float64), atol=1e-12)


def test_triplet_loss_averages_over_active_triplets_only():
    e = unit(0, 20, 40, 90, 180)
    # sq(0,20) = 0.1206, sq(0,40) = 0.4679, sq(20,90) = 1.3160
    # (a=0, p=1, n=2): 0.1206 - 0.4679 + 0.2 = -0.147  inactive
    # (a=0, p=2, n=1): 0.4679 - 0.1206 + 0.2 =  0.547  active
    # (a=1, p=0, n=3): 0.1206 - 1.3160 + 0.2 = -0.995  inactive
    # (a=2, p=0, n=1): 0.4679 - 0.1206 + 0.2 =  0.547  active
    out = triplet_loss(e, torch.tensor([0, 0, 1, 2]), torch.tensor([1, 2, 0, 0]), torch.tensor([2, 1, 3, 1]), alpha=0.2)
    expected = ((sq(0, 40) - sq(0, 20) + 0.2) + (sq(40, 0) - sq(40, 20) + 0.2)) / 2
    assert out.active == 2 and out.total == 4
    assert out.loss.item() == pytest.approx(expected, rel=1e-9)
    assert out.loss.item() == pytest.approx(0.5473, abs=1e-4)
    assert out.mean_positive == pytest.approx((sq(0, 20) * 2 + sq(0, 40) * 2) / 4)


def test_triplet_loss_alpha_changes_which_triplets_count():
    e = unit(0, 20, 40)
    args = (torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
    assert triplet_loss(e, *args, alpha=0.2).active == 0
    big = triplet_loss(e, *args, alpha=0.5)
    assert big.active == 1 and big.loss.item() == pytest.approx(sq(0, 20) - sq(0, 40) + 0.5)


def test_triplet_loss_with_nothing_active_is_zero_but_differentiable():
    e = unit(0, 10, 170).requires_grad_()
    out = triplet_loss(e, torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
    assert out.loss.item() == 0 and out.active == 0
    out.loss.backward()
    assert torch.count_nonzero(e.grad) == 0


# ---------------------------------------------------------------- mining


def test_semihard_miner_picks_the_closest_negative_inside_the_margin():
    # Identity 0 at 0 and 20 degrees: d_ap = sq(0,20) = 0.1206, margin 0.2 -> semi-hard band (0.1206, 0.3206),
    # i.e. angles from the anchor between 20 and ~32.8 degrees.
    # Negatives (identity 1, 2, 3): 25 deg (d=0.187, semi-hard), 30 deg (0.268, semi-hard), 90 deg (1.0, easy).
    e = unit(0, 20, 25, 30, 90)
    labels = torch.tensor([0, 0, 1, 2, 3])
    mined = mine_triplets(e, labels, alpha=0.2)
    triplets = {(a, p): n for a, p, n in zip(mined.anchors.tolist(), mined.positives.tolist(), mined.negatives.tolist())}
    assert mined.pairs == 2
    assert triplets[(0, 1)] == 2  # 25 deg beats 30 deg: the hardest of the semi-hard ones
    # Anchor 20, positive 0 (d_ap 0.1206): negative 25 deg is 5 deg away (harder than the positive),
    # 30 deg is 10 deg away (0.0304 < d_ap: also hard), 90 deg is easy -> no semi-hard: fallback to
    # the least hard of the hard ones, 30 deg (index 3).
    assert triplets[(1, 0)] == 3
    assert mined.semihard == 1 and mined.fallback == 1 and mined.skipped == 0


def test_semihard_miner_skips_pairs_whose_negatives_are_all_beyond_the_margin():
    e = unit(0, 5, 120, 180)
    mined = mine_triplets(e, torch.tensor([0, 0, 1, 2]), alpha=0.2)
    assert mined.pairs == 2 and mined.skipped == 2 and len(mined.anchors) == 0


def test_hardest_miner_takes_the_closest_negative():
    e = unit(0, 20, 25, 30, 90)
    mined = mine_triplets(e, torch.tensor([0, 0, 1, 2, 3]), strategy="hardest")
    triplets = {(a, p): n for a, p, n in zip(mined.anchors.tolist(), mined.positives.tolist(), mined.negatives.tolist())}
    assert triplets == {(0, 1): 2, (1, 0): 2}


def test_miner_uses_every_anchor_positive_pair_and_needs_no_grad():
    e = torch.nn.functional.normalize(torch.randn(12, 8, requires_grad=True), dim=1)
    labels = torch.arange(4).repeat_interleave(3)  # 4 identities x 3 faces -> 4 * 3 * 2 ordered pairs
    mined = mine_triplets(e, labels, strategy="hardest")
    assert mined.pairs == 24 and len(mined.anchors) == 24
    assert not mined.anchors.requires_grad
    assert (labels[mined.anchors] == labels[mined.positives]).all()
    assert (labels[mined.anchors] != labels[mined.negatives]).all()


def test_miner_rejects_unknown_strategy():
    with pytest.raises(ValueError, match="unknown mining strategy 'semi'"):
        mine_triplets(unit(0, 1), torch.tensor([0, 0]), strategy="semi")


# ---------------------------------------------------------------- sampling


def test_pk_sampler_gives_every_identity_exactly_k_faces():
    labels = np.repeat(np.arange(20), 5)
    eligible = np.ones(100, bool)
    eligible[[0, 1, 2]] = False  # identity 0 keeps 2 faces: too few for k=3, only usable as an extra
    sampler = PKSampler(labels, p=4, k=3, extra=2, eligible=eligible, seed=1)
    assert len(sampler) == 19 // 4
    seen = []
    for batch in sampler.epoch(0):
        assert len(batch) == 4 * 3 + 2 and len(set(batch.tolist())) == len(batch)
        assert eligible[batch].all()
        counts = np.bincount(labels[batch], minlength=20)
        assert sorted(counts[counts > 0].tolist()) == [1, 1, 3, 3, 3, 3]
        seen += [int(i) for i in np.flatnonzero(counts == 3)]
    assert len(seen) == len(set(seen)) and 0 not in seen  # each P-identity once per epoch
    # Same seed and epoch -> same batches (a resumed run sees what it would have seen).
    assert all((a == b).all() for a, b in zip(sampler.epoch(3), PKSampler(labels, p=4, k=3, extra=2, eligible=eligible, seed=1).epoch(3)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"p": 0, "k": 2}, "p must be an integer >= 1"),
        ({"p": 2, "k": 1}, "k must be an integer >= 2"),
        ({"p": 2, "k": 6}, "no identity has that many"),
        ({"p": 11, "k": 2}, "only 10 have >= 2 faces"),
        ({"p": 8, "k": 2, "extra": 3}, "only 10 exist"),
        ({"p": 2.5, "k": 2}, "p must be an integer"),
    ],
)
def test_pk_sampler_explains_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PKSampler(np.repeat(np.arange(10), 5), **kwargs)

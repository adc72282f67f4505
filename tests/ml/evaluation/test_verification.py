"""Verification metrics on distance sets whose answers are known by hand."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ml.evaluation.verification import kfold_accuracy, read_pairs, roc_auc, val_at_far


def test_perfectly_separated_pairs():
    rng = np.random.default_rng(0)
    same = np.repeat([True, False], 500)
    distances = np.where(same, rng.uniform(0.0, 0.3, 1000), rng.uniform(0.5, 1.0, 1000))
    folds = np.tile(np.arange(10), 100)
    mean, std, thresholds = kfold_accuracy(distances, same, folds)
    assert mean == 1.0 and std == 0.0
    assert len(thresholds) == 10 and all(0.3 <= t <= 0.5 for t in thresholds)
    assert roc_auc(distances, same) == 1.0
    val, threshold = val_at_far(distances, same, far=1e-3)
    assert val == 1.0 and 0.3 <= threshold < distances[~same].min()


def test_known_overlap():
    # Same pairs at 0.1..0.4, different pairs at 0.3..0.6: the best threshold accepts
    # up to 0.3 or 0.4, getting 7 of 8 right; AUC counts pairs ordered correctly.
    same = np.array([True] * 4 + [False] * 4)
    distances = np.array([0.1, 0.2, 0.3, 0.4, 0.35, 0.45, 0.5, 0.6])
    # Ranks: of 16 (same, different) pairs, only (0.4, 0.35) is in the wrong order.
    assert roc_auc(distances, same) == pytest.approx(15 / 16)
    folds = np.array([0, 1] * 4)
    mean, _, _ = kfold_accuracy(distances, same, folds)
    assert 0.5 <= mean <= 1.0
    # FAR 0: no different pair may be accepted, so only distances < 0.35 count.
    val, threshold = val_at_far(distances, same, far=0.0)
    assert val == pytest.approx(3 / 4) and threshold < 0.35


def test_auc_with_ties_counts_half():
    same = np.array([True, False])
    assert roc_auc(np.array([0.5, 0.5]), same) == pytest.approx(0.5)


def test_read_pairs_lfw_format(tmp_path):
    for name, n in [("ann", 1), ("ann", 2), ("bob", 1), ("bob", 3)]:
        (tmp_path / name).mkdir(exist_ok=True)
        Image.new("RGB", (8, 8)).save(tmp_path / name / f"{name}_{n:04d}.jpg")
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text("2\t1\nann\t1\t2\nann\t1\tbob\t3\nbob\t1\t3\nbob\t1\tann\t2\n")
    pairs = read_pairs(pairs_file, tmp_path)
    assert [(p.path_a.name, p.path_b.name, p.same, p.fold) for p in pairs] == [
        ("ann_0001.jpg", "ann_0002.jpg", True, 0),
        ("ann_0001.jpg", "bob_0003.jpg", False, 0),
        ("bob_0001.jpg", "bob_0003.jpg", True, 1),
        ("bob_0001.jpg", "ann_0002.jpg", False, 1),
    ]
    pairs_file.write_text("2\t1\nann\t1\t2\n")
    with pytest.raises(ValueError):
        read_pairs(pairs_file, tmp_path)


def test_kfold_accuracy_picks_thresholds_on_other_folds():
    # Fold 0's own best threshold would be 0.45, but the other folds choose about 0.25.
    distances = np.array([0.1, 0.4, 0.5, 0.9, 0.1, 0.2, 0.3, 0.9, 0.1, 0.2, 0.3, 0.9])
    same = np.array([True, True, False, False] * 3)
    folds = np.repeat([0, 1, 2], 4)
    mean, std, thresholds = kfold_accuracy(distances, same, folds)
    assert thresholds[0] == pytest.approx(0.25)
    # fold 0 at 0.25: 0.1 same ok, 0.4 same -> wrong, 0.5 diff ok, 0.9 ok => 0.75
    assert mean == pytest.approx((0.75 + 1 + 1) / 3)
    assert std == pytest.approx(np.std([0.75, 1, 1]))


def test_val_counts_only_allowed_false_accepts():
    different = np.linspace(0.5, 1.0, 1000)  # 1000 different pairs: one may be accepted
    same = np.array([0.2, 0.45, 0.5005, 0.7])
    distances = np.concatenate([same, different])
    labels = np.array([True] * 4 + [False] * 1000)
    val, threshold = val_at_far(distances, labels, far=1e-3)
    assert different[0] <= threshold < different[1]
    assert val == 0.75  # 0.2, 0.45 and 0.5005 are below the second-smallest different distance



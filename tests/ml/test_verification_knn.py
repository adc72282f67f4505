import numpy as np
import pytest

from ml.knn import knn_guess
from ml.verification import best_threshold, kfold_accuracy, read_pairs, roc_auc, val_at_far


def test_perfectly_separated_pairs():
    distances = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8])
    same = np.array([True, True, True, False, False, False])
    assert 0.3 < best_threshold(distances, same) < 0.6
    assert roc_auc(distances, same) == 1.0
    val, threshold = val_at_far(distances, same, far=1e-3)
    assert val == 1.0 and 0.3 < threshold < 0.6


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


def test_auc_with_ties_counts_half():
    assert roc_auc(np.array([0.5, 0.5]), np.array([True, False])) == 0.5


def test_read_pairs_view2(tmp_path):
    for person in ("c1", "c2"):
        (tmp_path / person).mkdir()
        for n in (1, 2):
            (tmp_path / person / f"{person}_{n:04d}.webp").write_bytes(b"x")
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text("1\t1\nc1\t1\t2\nc1\t1\tc2\t2\n")
    same, different = read_pairs(pairs_file, tmp_path)
    assert same.same and same.path_b.name == "c1_0002.webp"
    assert not different.same and different.path_b.name == "c2_0002.webp" and different.fold == 0


def test_knn_guess_weights_close_agreeing_neighbours():
    guess = knn_guess([0.02, 0.03, 0.05, 0.09], ["alice", "alice", "bob", "alice"], threshold=0.1)
    assert guess.label == "alice" and guess.votes == 3 and guess.distance == 0.02
    assert guess.confidence == pytest.approx((0.8 + 0.7 + 0.1) / (0.8 + 0.7 + 0.5 + 0.1))


def test_knn_guess_unknown_when_nothing_is_close():
    guess = knn_guess([0.3, 0.5], ["alice", "bob"], threshold=0.1)
    assert guess.label is None and guess.confidence == 0.0


def test_lone_far_neighbour_gives_low_confidence():
    guess = knn_guess([0.09], ["alice"], threshold=0.1)
    assert guess.label == "alice" and guess.confidence == pytest.approx(0.1)

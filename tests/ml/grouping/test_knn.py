import pytest

from ml.grouping.knn import knn_guess


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

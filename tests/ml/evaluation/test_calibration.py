"""The calibration of a model version: FAR table, probabilities, the open-set bar."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ml.evaluation.calibration import Calibration, calibration_fit, calibration_path, pair_distances


def people_embeddings(people: int = 300, faces: int = 5, spread: float = 0.35, seed: int = 0):
    """Unit vectors around one random centre per person: same-person pairs are close."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = np.repeat(centres, faces, axis=0) + spread * rng.normal(size=(people * faces, 128)) / np.sqrt(128)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), np.repeat(np.arange(people), faces)


@pytest.fixture(scope="module")
def fitted():
    embeddings, labels = people_embeddings()
    return calibration_fit(embeddings, labels, source="synthetic"), *pair_distances(embeddings, labels)


def test_pair_distances_are_every_pair_once():
    embeddings, labels = people_embeddings(people=7, faces=3)
    same, different = pair_distances(embeddings, labels, block=4)  # blocks that cut people apart
    assert len(same) == 7 * 3 and len(different) == 21 * 20 // 2 - 21


def test_far_table_matches_the_pairs_it_was_measured_on(fitted):
    calibration, same, different = fitted
    for far in (1e-4, 1e-3, 1e-2, 0.1):
        distance = calibration.threshold_at_far(far)
        measured = float((different <= distance).mean())
        assert measured == pytest.approx(far, rel=0.15), (far, measured)
        assert calibration.far_at(distance) == pytest.approx(far, rel=0.05)
    assert calibration.threshold_at_far(1e-4) < calibration.threshold_at_far(1e-3) < calibration.threshold_at_far(1e-2)


def test_probability_falls_with_distance_and_is_never_certain(fitted):
    calibration, same, different = fitted
    grid = np.linspace(0, 1.2, 50)
    probabilities = [calibration.probability(d) for d in grid]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < min(probabilities) and max(probabilities) < 1
    assert calibration.probability(grid).tolist() == probabilities  # an array at once, as pair suggestions ask
    # At the balanced even-odds distance, as many same-person pairs are farther as different-person pairs are closer.
    even = calibration.even_odds_distance()
    assert (same > even).mean() == pytest.approx((different <= even).mean(), abs=0.03)


def test_open_set_bar_tightens_with_the_number_of_named_people(fitted):
    calibration, _, different = fitted
    bars = [calibration.open_set_threshold(people=n, stranger_rate=0.01) for n in (1, 10, 100, 1000)]
    assert bars == sorted(bars, reverse=True) and bars[0] > bars[-1]
    assert bars[1] == pytest.approx(calibration.threshold_at_far(1e-3))
    # Past what the val pairs can measure, the bar stays at the smallest measured FAR.
    assert calibration.open_set_threshold(people=10**9, stranger_rate=0.01) == calibration.threshold_at_far(calibration.min_far)
    assert calibration.stranger_chance(bars[2], people=100) == pytest.approx(0.01, rel=0.1)


def test_round_trip_through_json(fitted, tmp_path):
    calibration = fitted[0]
    again = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    assert again == calibration
    assert calibration_path(tmp_path / "net.pt") == tmp_path / "net.calibration.json"


def test_too_few_pairs_is_a_clear_error():
    embeddings, labels = people_embeddings(people=4, faces=1)  # no same-person pair
    with pytest.raises(ValueError, match="too few pairs"):
        calibration_fit(embeddings, labels, source="tiny")


def test_distance_at_probability_inverts_the_probability_table():
    """The grouping's merge bar: the distance where P(same) falls to a given value, between
    the table's 0.005 steps (P 0.9961 at 0.060, 0.9861 at 0.065: 0.99 lies at 0.063)."""
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[3] / "models" / "dlib_resnet_v1_mirror.calibration.json"
    calibration = Calibration.from_dict(json.loads(shipped.read_text()))
    bars = [calibration.distance_at_probability(p) for p in (0.5, 0.9, 0.99, 0.999)]
    assert bars == sorted(bars, reverse=True)
    assert 0.060 < bars[2] < 0.065
    for p, distance in zip((0.5, 0.9, 0.99, 0.999), bars):
        assert abs(calibration.probability(distance) - p) < 1e-6

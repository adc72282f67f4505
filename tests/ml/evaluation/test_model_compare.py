"""Judging a retrained model: the held-out split, the scores and the recommendation."""
from __future__ import annotations

import numpy as np
import pytest

from ml.evaluation.model_compare import (
    TooLittleData, halves_won, people_split, recommend, verification_scores, whole_people_upto,
)


def test_people_split_holds_out_a_fifth_and_at_least_two():
    train, held = people_split(range(20), seed=1)
    assert len(held) == 4 and len(train) == 16 and not set(train) & set(held)
    assert people_split(range(20), seed=1) == (train, held)  # seeded
    train, held = people_split(range(5), seed=0)
    assert len(held) == 2 and len(train) == 3
    with pytest.raises(TooLittleData, match="4 people"):
        people_split(range(4))


def test_verification_scores_of_perfectly_separated_people():
    # Two people, three faces each, on orthogonal axes: every same pair at distance 0,
    # every different pair at 1.
    x = np.repeat(np.eye(2, 128), 3, axis=0)
    scores = verification_scores(x, np.array([0, 0, 0, 1, 1, 1]))
    assert scores["same_pairs"] == 6 and scores["different_pairs"] == 9
    assert scores["accuracy"] == 1.0 and scores["val"] == 1.0 and scores["auc"] == 1.0
    with pytest.raises(TooLittleData):
        verification_scores(x[:3], np.array([0, 0, 0]))


def test_recommend_needs_a_library_gain_and_no_loss_on_celeba_val():
    old = {"heldout": {"val": 0.80, "grouping_f1": 0.80}, "celeba_val": {"accuracy": 0.950}}
    better = {"heldout": {"val": 0.84, "grouping_f1": 0.80}, "celeba_val": {"accuracy": 0.946}}
    forgetful = {"heldout": {"val": 0.84, "grouping_f1": 0.80}, "celeba_val": {"accuracy": 0.940}}
    worse = {"heldout": {"val": 0.78, "grouping_f1": 0.81}, "celeba_val": {"accuracy": 0.960}}
    assert recommend(old=old, new=better)[0] is True  # 0.4 points lost on celeba5 val: within tolerance
    promote, why = recommend(old=old, new=forgetful)
    assert promote is False and "forgets" in why
    promote, why = recommend(old=old, new=worse)
    assert promote is False and "no gain" in why
    fragile = {**better, "heldout": {**better["heldout"], "halves_won": 0.3}}
    promote, why = recommend(old=old, new=fragile)
    assert promote is False and "does not hold on most halves" in why
    consistent = {**better, "heldout": {**better["heldout"], "halves_won": 0.8}}
    assert recommend(old=old, new=consistent)[0] is True


def test_evaluation_keeps_whole_people_within_the_face_budget():
    labels = np.repeat(np.arange(10), 4)  # 40 faces
    keep = whole_people_upto(labels, max_faces=14, seed=0)
    assert keep.sum() == 12  # three whole people of four faces
    kept = set(labels[keep])
    assert all(keep[labels == person].all() for person in kept)
    assert whole_people_upto(labels, max_faces=40).all()


def test_halves_won_says_how_consistently_the_new_model_is_better():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(12), 4)
    centres = np.eye(12, 128)[labels]

    def embed(noise: float) -> np.ndarray:
        x = centres + rng.normal(0, noise, centres.shape)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    tight, blurred = embed(0.02), embed(0.12)  # blurred: people overlap, look-alikes merge
    photos = np.arange(len(labels))
    assert halves_won(blurred, tight, labels, photos, thresholds=(0.3, 0.3), rounds=10) == 1.0
    assert halves_won(tight, blurred, labels, photos, thresholds=(0.3, 0.3), rounds=10) == 0.0
    assert halves_won(tight, tight, labels, photos, thresholds=(0.3, 0.3), rounds=10) == 0.0  # a tie is no win


def test_a_checkpoint_compared_with_itself_ties_everywhere(ml_toy_cache, ml_toy_pairs, ml_checkpoint_path):
    from ml.evaluation.calibration import Calibration
    from ml.evaluation.model_compare import LabelledFaces, checkpoints_compare
    from ml.evaluation.verification import PairsValidator
    from ml.faces.embed import Embedder
    from ml.learning.facecache import load_cache

    cache = load_cache(ml_toy_cache)
    validator = PairsValidator(cache, ml_toy_pairs)
    heldout = LabelledFaces(np.asarray(cache.crops), cache.labels, np.arange(len(cache.labels)))
    first = checkpoints_compare(old=ml_checkpoint_path, new=ml_checkpoint_path, old_threshold=0.5, heldout=heldout,
                                val=validator, seed=1, device="cpu")
    embedder = Embedder.from_checkpoint(ml_checkpoint_path, device="cpu")
    threshold = validator(lambda rows: embedder.embed(np.asarray(cache.crops[rows])))["val_threshold"]
    assert first["new"]["threshold"] == pytest.approx(threshold)  # the new model's own, from the val pairs
    assert first["old"]["threshold"] == 0.5  # the old one keeps its calibrated threshold
    # With the old model given the new one's threshold, the two sides are the same model.
    result = checkpoints_compare(old=ml_checkpoint_path, new=ml_checkpoint_path, old_threshold=threshold,
                                 heldout=heldout, val=validator, seed=1, device="cpu")
    assert result["new"]["heldout"].pop("halves_won") == 0.0  # never strictly better than itself
    calibration = Calibration.from_dict(result["new"].pop("calibration"))  # the new version's, from every val pair
    assert calibration.far_at(threshold) > calibration.min_far and calibration.same_pairs > 0
    assert result["old"] == result["new"]
    assert result["old"]["celeba_val"]["pairs"] == 8 and result["old"]["heldout"]["same_pairs"] == 6 * 10

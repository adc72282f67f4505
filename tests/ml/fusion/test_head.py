"""The fusion head learns, with our triplet loss and semi-hard mining, to weight the
backbones: on features where one network carries identity and the other mostly a
nuisance shared across people, the trained head separates unseen people better than the
plain concatenation it starts from."""
from __future__ import annotations

import numpy as np
import pytest

from ml.fusion.backbones import unit
from ml.fusion.head import FusionHead
from ml.fusion.train_head import train_head


def synthetic(people: int, faces: int, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Backbone A: identity plus noise. Backbone B: a strong nuisance (lighting, say)
    drawn per face from a few shared directions, with a weak trace of identity."""
    labels = np.repeat(np.arange(people), faces)
    identity = rng.normal(size=(people, 16))[labels]
    a = unit(identity + 0.6 * rng.normal(size=(len(labels), 16)))
    nuisance = rng.normal(size=(4, 24))[rng.integers(0, 4, len(labels))]
    b = unit(3.0 * nuisance + 0.3 * np.pad(identity, ((0, 0), (0, 8))) + 0.3 * rng.normal(size=(len(labels), 24)))
    return [a.astype(np.float32), b.astype(np.float32)], labels


def separation(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Share of faces whose nearest other face is the same person."""
    similarity = embeddings @ embeddings.T
    np.fill_diagonal(similarity, -np.inf)
    return float((labels[similarity.argmax(axis=1)] == labels).mean())


def test_trained_head_separates_unseen_people_better_than_concatenation():
    rng = np.random.default_rng(0)
    train_parts, train_labels = synthetic(200, 5, rng)
    val_parts, val_labels = synthetic(100, 5, rng)
    plain = separation(unit(np.concatenate(val_parts, axis=1)), val_labels)

    def evaluate(head: FusionHead) -> dict:
        score = separation(head.embed(val_parts), val_labels)
        return {"accuracy": score, "val_at_far_1e-3": score}

    head, summary = train_head(train_parts, train_labels, evaluate, hidden=0, epochs=10, p=40, k=5, lr=1e-2,
                               alpha=0.2, dropout=0.0, eval_every=5, seed=0, log=lambda *a, **k: None)
    trained = separation(head.embed(val_parts), val_labels)
    assert head.embed(val_parts).shape == (500, 128)
    assert trained == summary["best_val_accuracy"] or abs(trained - summary["best_val_accuracy"]) < 1e-4
    assert trained > plain + 0.1, (plain, trained)


def test_fine_tuning_starts_from_the_given_head_and_stops_when_asked():
    rng = np.random.default_rng(1)
    train_parts, train_labels = synthetic(100, 5, rng)
    val_parts, val_labels = synthetic(50, 5, rng)

    def evaluate(head: FusionHead) -> dict:
        score = separation(head.embed(val_parts), val_labels)
        return {"accuracy": score, "val_at_far_1e-3": score}

    quiet = dict(hidden=0, p=20, k=5, alpha=0.2, dropout=0.0, eval_every=1, seed=0, log=lambda *a, **k: None)
    start, _ = train_head(train_parts, train_labels, evaluate, epochs=5, lr=1e-2, **quiet)
    records = []
    # With no learning rate, one epoch of fine-tuning is the start head itself, not a fresh one.
    same, summary = train_head(train_parts, train_labels, evaluate, epochs=1, lr=0.0, start=start,
                               on_epoch=records.append, **quiet)
    assert same is not start and not summary["stopped"]
    np.testing.assert_allclose(same.embed(val_parts), start.embed(val_parts), atol=1e-6)
    assert [(r["epoch"], r["step"], r["total_steps"]) for r in records] == [(1, 5, 5)]  # 100 people, 20 a batch

    asked = iter([False, True])
    _, summary = train_head(train_parts, train_labels, evaluate, epochs=4, lr=1e-2, start=start,
                            should_stop=lambda: next(asked), **quiet)
    assert summary["stopped"] and len(summary["history"]) == 1
    with pytest.raises(ValueError, match="exclude each other"):
        train_head(train_parts, train_labels, evaluate, epochs=1, lr=1e-2, start=start, pca=True, **quiet)

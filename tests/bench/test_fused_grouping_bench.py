"""bench/fused_grouping.py chooses a model's grouping settings by the lower bounds of its
precisions (precision_bound): the bound must be the precision when nothing is uncertain,
fall below it when a few groups carry the errors, and score pairs as pairwise_scores does."""
import numpy as np

from bench.fused_grouping import precision_bound
from ml.grouping.cluster import pairwise_scores


def test_a_clean_grouping_is_bounded_at_one():
    labels = np.repeat(np.arange(20), 5)
    assert precision_bound(labels, labels) == 1.0
    assert precision_bound(np.full(100, -1), labels) == 1.0  # nothing grouped, no pair wrong


def test_the_bound_sits_below_the_precision_when_a_few_groups_hold_the_errors():
    truth = np.repeat(np.arange(40), 5)
    predicted = truth.copy()
    predicted[truth == 1] = 0  # two look-alikes merged, twice
    predicted[truth == 3] = 2
    predicted[truth == 39] = -1  # a person left unsorted forms no pairs
    point = pairwise_scores(predicted, truth)["precision"]
    bound = precision_bound(predicted, truth)
    assert 0.0 < bound < point < 1.0
    assert precision_bound(predicted, truth, quantile=0.5) <= point + 0.02  # the resamples centre near it
    assert precision_bound(predicted, truth) == bound  # seeded: a sweep is repeatable

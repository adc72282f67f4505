import json
from pathlib import Path

import numpy as np
import pytest

from ml.evaluation.calibration import Calibration
from ml.grouping.merge import MERGE_MARGIN, MERGE_PROBABILITY, attach_unsorted, merge_clusters

ROOT = Path(__file__).resolve().parents[3]


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def around(centre, n, spread, rng):
    return unit(centre + spread * rng.normal(size=(n, len(centre))) / np.sqrt(len(centre)))


def average_linkage(a, b):
    return float((1.0 - a @ b.T).mean())


def calibrated_bar():
    calibration = Calibration.from_dict(json.loads((ROOT / "models" / "dlib_resnet_v1_mirror.calibration.json").read_text()))
    return calibration.distance_at_probability(MERGE_PROBABILITY)


def test_the_two_tight_clusters_of_a_split_person_are_merged():
    rng = np.random.default_rng(0)
    person = unit(rng.normal(size=128))
    x = np.concatenate([around(person, 6, 0.25, rng), around(person, 6, 0.25, rng)])
    bar = calibrated_bar()
    assert average_linkage(x[:6], x[6:]) < bar
    labels = merge_clusters(np.array([3] * 6 + [8] * 6), x, np.arange(12), bar)
    assert labels.tolist() == [3] * 12


def test_two_people_just_beyond_the_calibrated_bar_stay_apart():
    """Two people whose faces are on average a little farther apart than the bar (P(same)
    just under MERGE_PROBABILITY): not merged; moved a little closer, they are."""
    rng = np.random.default_rng(1)
    bar = calibrated_bar()
    a, b = unit(rng.normal(size=128)), unit(rng.normal(size=128))
    first, noise = around(a, 5, 0.2, rng), rng.normal(size=(5, 128)) / np.sqrt(128)

    def second_at(mix):
        return unit(unit((1 - mix) * a + mix * b) + 0.2 * noise)

    low, high = 0.0, 1.0  # find the mix at which the average linkage crosses the bar
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if average_linkage(first, second_at(mid)) < bar else (low, mid)
    labels = np.array([0] * 5 + [1] * 5)
    beyond = np.concatenate([first, second_at(high + 0.01)])
    assert bar < average_linkage(beyond[:5], beyond[5:]) < bar + 0.01
    # margin=1: the bar alone decides here (the margin has its own test)
    assert merge_clusters(labels, beyond, np.arange(10), bar, margin=1.0).tolist() == labels.tolist()
    within = np.concatenate([first, second_at(low - 0.01)])
    assert merge_clusters(labels, within, np.arange(10), bar, margin=1.0).tolist() == [0] * 10


def test_two_tight_look_alikes_within_the_bar_stay_apart():
    """Two people each tighter than the bar, on average 0.02 farther from each other than
    from themselves (as celeba_library's look-alikes): the margin keeps them apart, while
    one person's two halves (no farther apart than wide) are joined."""
    rng = np.random.default_rng(5)
    bar = calibrated_bar()
    a = unit(rng.normal(size=128))
    b = unit(a + 0.2 * unit(rng.normal(size=128)))
    x = np.concatenate([around(a, 8, 0.2, rng), around(b, 8, 0.2, rng)])
    within = (average_linkage(x[:8], x[:8]) * 64 / 56 + average_linkage(x[8:], x[8:]) * 64 / 56) / 2
    assert average_linkage(x[:8], x[8:]) < bar and average_linkage(x[:8], x[8:]) - within > MERGE_MARGIN
    labels = np.array([0] * 8 + [1] * 8)
    assert merge_clusters(labels, x, np.arange(16), bar).tolist() == labels.tolist()
    halves = np.concatenate([around(a, 8, 0.2, rng), around(a, 8, 0.2, rng)])
    assert merge_clusters(labels, halves, np.arange(16), bar).tolist() == [0] * 16


def test_clusters_sharing_a_photo_are_never_merged():
    rng = np.random.default_rng(2)
    x = around(unit(rng.normal(size=128)), 6, 0.2, rng)
    photos = np.array([10, 11, 12, 13, 14, 10])  # faces 0 and 5: two faces of one photo
    labels = merge_clusters(np.array([0, 0, 0, 1, 1, 1]), x, photos, 0.5)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_merging_is_exactly_average_linkage():
    """From one face per cluster the merge step is average-linkage agglomeration cut at the
    bar: the same partition as scipy's."""
    from scipy.cluster.hierarchy import fcluster, linkage

    rng = np.random.default_rng(3)
    centres = unit(rng.normal(size=(12, 16)))
    x = np.concatenate([around(c, int(n), 0.6, rng) for c, n in zip(centres, rng.integers(1, 9, 12))])
    ours = merge_clusters(np.arange(len(x)), x, np.arange(len(x)), 0.3, margin=1.0)
    reference = fcluster(linkage(x, method="average", metric="cosine"), t=0.3, criterion="distance")
    pairs = lambda labels: {(i, j) for i in range(len(labels)) for j in range(i) if labels[i] == labels[j]}  # noqa: E731
    assert 2 < len(set(ours.tolist())) < len(x)
    assert pairs(ours) == pairs(reference)


@pytest.mark.parametrize("photo, joins", [(99, True), (5, False)])
def test_a_loose_face_joins_the_nearest_cluster_unless_its_photo_is_there(photo, joins):
    rng = np.random.default_rng(4)
    a, b = unit(rng.normal(size=128)), unit(rng.normal(size=128))
    x = np.concatenate([around(a, 4, 0.2, rng), around(b, 4, 0.2, rng), around(a, 1, 0.2, rng), around(-a, 1, 0.2, rng)])
    labels = np.array([0] * 4 + [1] * 4 + [-1, -1])
    photos = np.array([1, 2, 3, 5, 6, 7, 8, 9, photo, 100])
    attached = attach_unsorted(labels, x, photos, 0.1, min_size=4)
    assert attached[:8].tolist() == labels[:8].tolist() and attached[9] == -1  # the far face stays unsorted
    assert attached[8] == (0 if joins else -1)


def test_a_loose_face_about_as_near_to_two_clusters_stays_unsorted_with_a_gap():
    """The ambiguity rule: a face between two people joins neither when the second is
    not at least ``gap`` farther than the first; a face clearly nearer one joins it."""
    rng = np.random.default_rng(5)
    a, b = unit(rng.normal(size=128)), unit(rng.normal(size=128))
    between, near_a = unit(a + b), unit(3 * a + b)
    x = np.concatenate([around(a, 4, 0.1, rng), around(b, 4, 0.1, rng), between[None], near_a[None]])
    labels = np.array([0] * 4 + [1] * 4 + [-1, -1])
    means = np.stack([x[:4].mean(axis=0), x[4:8].mean(axis=0)])
    d = 1.0 - x[8:] @ means.T
    gap = (abs(d[0, 0] - d[0, 1]) + abs(d[1, 0] - d[1, 1])) / 2  # between the two faces' gaps
    assert abs(d[0, 0] - d[0, 1]) < gap < abs(d[1, 0] - d[1, 1])
    wide = attach_unsorted(labels, x, np.arange(10), 1.0, min_size=4)
    assert wide[8] != -1 and wide[9] == 0
    careful = attach_unsorted(labels, x, np.arange(10), 1.0, min_size=4, gap=gap)
    assert careful[8] == -1 and careful[9] == 0

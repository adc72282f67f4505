"""Detection scoring on photos whose right answer is worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from ml.evaluation.detection_scores import Tally, iou_matrix, score_photo, size_classes

FACES = np.array([[100, 100, 200, 220], [400, 100, 430, 130], [600, 50, 900, 600]], float)
NO_IGNORE = np.zeros((0, 4))


def score(detections, scores=None, *, hard=(False, False, False), ignore=NO_IGNORE, faces=FACES):
    detections = np.array(detections, float).reshape(-1, 4)
    scores = np.ones(len(detections)) if scores is None else np.array(scores, float)
    return score_photo(faces, np.array(hard), ignore, detections, scores, 1000, 800)


def test_iou_of_known_boxes():
    assert iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]]).tolist() == [[1.0, 1 / 3, 0.0]]


def test_sizes_small_medium_large():
    # 30 px fits in 40 px: small; 100x120: medium; 300 of 800 px high is < 40 %, 550 is > 40 %.
    assert size_classes(FACES, 1000, 800) == ["medium", "small", "large"]
    assert size_classes([[0, 0, 39, 39], [0, 0, 40, 10], [0, 0, 100, 321]], 1000, 800) == ["small", "medium", "large"]


def test_every_face_found_once_is_perfect():
    result = score(FACES + 3)
    assert result.found.tolist() == [True, True, True] and len(result.false_alarms) == 0


def test_a_box_under_iou_half_is_a_miss_and_a_false_alarm():
    shifted = FACES[0] + [60, 0, 60, 0]  # 40 of 100 px overlap: IoU 0.25
    result = score([shifted, FACES[1], FACES[2]])
    assert result.found.tolist() == [False, True, True]
    np.testing.assert_array_equal(result.false_alarms, [shifted])
    assert result.false_alarm_sizes == ["medium"]


def test_a_second_box_on_a_face_is_a_false_alarm_and_the_better_scored_one_counts():
    looser = FACES[0] + [0, 0, 40, 40]
    result = score([looser, FACES[0]], scores=[0.99, 0.95])
    assert result.found.tolist() == [True, False, False]
    np.testing.assert_array_equal(result.false_alarms, [FACES[0]])


def test_detections_are_clipped_to_the_frame_before_matching():
    cut = np.array([[-50, 100, 60, 220]], float)  # a face cut by the left edge, labelled as its visible part
    result = score_photo(np.array([[0, 100, 60, 220]], float), np.array([True]), NO_IGNORE, cut, np.ones(1), 1000, 800)
    assert result.found.tolist() == [True]


def test_a_detection_on_an_ignored_region_counts_neither_way():
    ignored = np.array([[950, 700, 1000, 800]], float)
    result = score([*FACES, ignored[0]], ignore=ignored)
    assert result.found.all() and len(result.false_alarms) == 0
    assert len(score([*FACES, ignored[0]]).false_alarms) == 1


def test_tally_recall_precision_overall_by_size_and_on_clear_faces():
    tally = Tally()
    tally.add(score([FACES[0], [0, 0, 20, 20]], hard=(False, True, False)))  # medium found, small + large missed
    tally.add(score(FACES, hard=(False, True, False)))  # all found
    assert tally.recall() == pytest.approx(4 / 6)
    assert tally.clear_recall() == pytest.approx(3 / 4)  # the small face is hard both times
    assert tally.precision() == pytest.approx(4 / 5)
    assert (tally.recall("small"), tally.recall("medium"), tally.recall("large")) == (0.5, 1.0, 0.5)
    assert (tally.precision("small"), tally.precision("medium")) == (0.5, 1.0)
    assert np.isnan(Tally().recall()) and np.isnan(Tally().precision("large"))

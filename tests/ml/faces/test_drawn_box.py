"""Box overlap and landmarks estimated from a box: what "Add a face" and re-processing
after the user's edits rely on."""
from __future__ import annotations

import numpy as np
import pytest

from ml.faces.align import MEAN_LANDMARKS_IN_BOX, landmarks_in_box
from ml.faces.boxes import box_iou


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0  # touching edges share no area
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (2, 2, 4, 4)) == pytest.approx(4 / 100)
    assert box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0


def test_landmarks_in_box_scale_with_the_box():
    points = landmarks_in_box((100, 200, 300, 500))
    assert points.shape == (5, 2) and points.dtype == np.float32
    assert points[0] == pytest.approx((100 + 0.269 * 200, 200 + 0.408 * 300))
    # Left eye left of the right eye, eyes above the nose above the mouth, all inside the box.
    assert points[0, 0] < points[1, 0] and points[:2, 1].max() < points[2, 1] < points[3:, 1].min()
    assert np.all((points >= [100, 200]) & (points <= [300, 500]))
    assert np.allclose((landmarks_in_box((0, 0, 1, 1))), MEAN_LANDMARKS_IN_BOX)

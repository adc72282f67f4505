"""The celeba5 benchmark's stress test: images cut on one side so their faces reach the frame."""
from __future__ import annotations

import numpy as np

from ml.evaluation.evaluate import cut_off
from ml.faces.imageio import DecodedImage


def test_cut_off_takes_a_band_from_each_side_in_turn_in_full_resolution_units():
    pixels = np.arange(100 * 200 * 3, dtype=np.uint32).reshape(100, 200, 3).astype(np.uint8)
    image = DecodedImage(pixels, 400, 200, 0.5, None)  # decoded at half the photo's size
    left, top, right, bottom = (cut_off(image, 0.25, side) for side in range(4))
    np.testing.assert_array_equal(left.pixels, pixels[:, 50:])
    np.testing.assert_array_equal(top.pixels, pixels[25:])
    np.testing.assert_array_equal(right.pixels, pixels[:, :150])
    np.testing.assert_array_equal(bottom.pixels, pixels[:75])
    assert (left.original_width, left.original_height, left.scale) == (300, 200, 0.5)
    assert (top.original_width, top.original_height) == (400, 150)
    assert left.pixels.flags.c_contiguous  # the detector and cv2 want contiguous pixels

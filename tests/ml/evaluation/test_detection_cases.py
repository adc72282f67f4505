"""The variant operations move the boxes exactly as they move the pixels.

Each test paints coloured rectangles at known boxes on a synthetic picture, applies an
operation, and finds the painted pixels again: their bounding box must be the box the
operation computed (to the pixel for crops and turns, within resampling blur for resizes,
and through a real JPEG and the upload decoder for EXIF orientations).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.evaluation.detection_cases import (
    CUT_HARD, CUT_IGNORE, Scene, apply, crop, cut, exif, fill, long_side, megapixels, rotate, to_case, write_jpeg,
)
from ml.faces.imageio import decode_image

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
BOXES = [[30, 20, 90, 100], [150, 40, 190, 90], [220, 120, 290, 190]]


def painted_scene(width: int = 320, height: int = 200) -> Scene:
    pixels = np.full((height, width, 3), 128, np.uint8)
    for (x0, y0, x1, y1), colour in zip(BOXES, COLOURS):
        pixels[y0:y1, x0:x1] = colour
    return Scene.of(Image.fromarray(pixels), [{"box": box} for box in BOXES])


def painted_box(image: Image.Image | np.ndarray, colour, tolerance: int = 60) -> list[int] | None:
    """Bounding box (pixel edges) of the pixels close to ``colour``."""
    pixels = np.asarray(image, dtype=np.int16)
    close = (np.abs(pixels - np.array(colour)).max(axis=2) < tolerance)
    if not close.any():
        return None
    ys, xs = np.nonzero(close)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def assert_boxes_follow_pixels(scene: Scene, atol: float = 0.0) -> None:
    for index, colour in enumerate(COLOURS):
        found = painted_box(scene.image, colour)
        expected = scene.boxes[index]
        if found is None:
            assert (expected[2] - expected[0]) * (expected[3] - expected[1]) == 0, f"face {index} should be gone"
        else:
            np.testing.assert_allclose(found, expected, atol=atol, err_msg=f"face {index}")


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_turning_moves_the_boxes_with_the_pixels(clockwise):
    turned = rotate(painted_scene(), clockwise)
    assert turned.image.size == ((200, 320) if clockwise != 180 else (320, 200))
    assert_boxes_follow_pixels(turned)


def test_four_quarter_turns_give_the_picture_back():
    scene = painted_scene()
    turned = apply(scene, [["rotate", 90]] * 4)
    np.testing.assert_array_equal(turned.boxes, scene.boxes)
    np.testing.assert_array_equal(np.asarray(turned.image), np.asarray(scene.image))


def test_a_crop_clips_the_boxes_it_cuts():
    cropped = crop(painted_scene(), 60, 30, 250, 180)
    assert cropped.image.size == (190, 150)
    assert cropped.boxes.tolist()[0] == [0, 0, 30, 70]
    assert_boxes_follow_pixels(cropped)


@pytest.mark.parametrize("side, keep, expected", [
    ("left", 0.5, [0, 20, 30, 100]), ("right", 0.25, [30, 20, 45, 100]),
    ("top", 0.5, [30, 0, 90, 40]), ("bottom", 0.75, [30, 20, 90, 80]),
])
def test_cut_leaves_the_asked_share_of_the_face_inside_the_frame(side, keep, expected):
    scene = cut(painted_scene(), 0, side, keep)
    assert scene.boxes.tolist()[0] == expected
    assert_boxes_follow_pixels(scene)


def test_fill_crops_around_one_face():
    scene = fill(painted_scene(), 2, 0.1)
    assert scene.image.size == (84, 84)
    assert scene.boxes.tolist()[2] == [7, 7, 77, 77]
    assert_boxes_follow_pixels(scene)


@pytest.mark.parametrize("operation", [lambda s: long_side(s, 160), lambda s: long_side(s, 1000),
                                       lambda s: megapixels(s, 0.5)])
def test_resizing_scales_the_boxes_to_within_the_resampling_blur(operation):
    scene = operation(painted_scene())
    # Area is scaled with the boxes so that a later crop still knows each face's full size.
    np.testing.assert_allclose(scene.full_area, (scene.boxes[:, 2] - scene.boxes[:, 0]) * (scene.boxes[:, 3] - scene.boxes[:, 1]))
    assert_boxes_follow_pixels(scene, atol=1.5)


def test_megapixels_reaches_the_pixel_count():
    scene = megapixels(painted_scene(), 12)
    assert abs(scene.image.width * scene.image.height - 12e6) < 0.001 * 12e6
    assert_boxes_follow_pixels(scene, atol=1.5)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_an_exif_orientation_stores_the_pixels_turned_and_the_decoder_turns_them_back(orientation, tmp_path):
    scene = apply(painted_scene(), [["cut", 0, "left", 0.5], ["exif", orientation]])
    path = tmp_path / "turned.jpg"
    write_jpeg(scene, path)
    with Image.open(path) as stored:
        assert stored.getexif().get(0x0112) == orientation
        assert stored.size == (scene.image.size if orientation == 3 else scene.image.size[::-1])
        assert painted_box(stored, COLOURS[2]) != painted_box(scene.image, COLOURS[2])  # really stored turned
    decoded = decode_image(path, max_side=None)
    assert (decoded.original_width, decoded.original_height) == scene.image.size
    for index, colour in enumerate(COLOURS):
        np.testing.assert_allclose(painted_box(decoded.pixels, colour), scene.boxes[index], atol=2)


def test_exif_must_come_last():
    with pytest.raises(ValueError, match="last"):
        apply(painted_scene(), [["exif", 6], ["rotate", 90]])
    with pytest.raises(ValueError, match="3, 6 or 8"):
        exif(painted_scene(), 2)


def test_a_cut_face_is_hard_then_ignored_then_gone(tmp_path):
    width = BOXES[0][2] - BOXES[0][0]
    for keep, kept, hard, ignored in [(1.0, 3, False, 0), (CUT_HARD - 0.05, 3, True, 0),
                                      (CUT_IGNORE - 0.05, 2, None, 1)]:
        scene = crop(painted_scene(), round(BOXES[0][2] - keep * width), 0, 320, 200)
        case = to_case(scene, "cut", "cut", tmp_path / "cut.jpg")
        assert (len(case.boxes), len(case.ignore)) == (kept, ignored), keep
        if hard is not None:
            assert case.hard.tolist() == [hard, False, False], keep
    gone = to_case(crop(painted_scene(), 100, 0, 320, 200), "gone", "cut", tmp_path / "gone.jpg")
    assert (len(gone.boxes), len(gone.ignore)) == (2, 0)


def test_a_hard_face_stays_hard_whole():
    scene = Scene.of(painted_scene().image, [{"box": BOXES[0], "hard": "profile"}, {"box": BOXES[1]}])
    case = to_case(rotate(scene, 90), "t", "turned", Path("unused.jpg"))
    assert case.hard.tolist() == [True, False]

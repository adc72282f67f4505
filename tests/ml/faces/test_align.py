"""Similarity estimation and face crops."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from ml.faces.align import (
    DLIB_150, NETWORK_BORDER, NEUTRAL_GREY, SHOWN_BORDER, AlignmentTemplate, align_face, align_faces,
    estimate_similarity, outside_mask,
)
from ml.faces.boxes import largest_face
from ml.faces.imageio import decode_image


def _similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    rotation = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([rotation, [[tx], [ty]]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_estimate_similarity_recovers_a_known_transform():
    src = np.array([[30.0, 40.0], [70.0, 38.0], [50.0, 60.0], [35.0, 80.0], [68.0, 82.0]])
    truth = _similarity(23.0, 1.7, -12.5, 40.25)
    estimated = estimate_similarity(src, _apply(truth, src))
    assert estimated.shape == (2, 3) and estimated.dtype == np.float64
    np.testing.assert_allclose(estimated, truth, atol=1e-9)


def test_estimate_similarity_never_reflects():
    src = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0], [5.0, 3.0]])
    mirrored = src * [-1.0, 1.0]
    matrix = estimate_similarity(src, mirrored)
    assert np.linalg.det(matrix[:, :2]) > 0


def test_estimate_similarity_is_least_squares_under_noise():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 100, (5, 2))
    truth = _similarity(-8.0, 0.6, 5.0, 7.0)
    dst = _apply(truth, src) + rng.normal(0, 0.5, (5, 2))
    residual = np.linalg.norm(_apply(estimate_similarity(src, dst), src) - dst)
    # The fitted transform is at least as close to dst as the true one.
    assert residual <= np.linalg.norm(_apply(truth, src) - dst) + 1e-9


def test_dlib_template_matches_the_face_chip():
    assert DLIB_150.size == 150 and len(DLIB_150.points) == 5
    expected = [(47.55, 46.60), (100.48, 46.60), (74.01, 76.56), (50.42, 103.02), (97.61, 103.02)]
    np.testing.assert_allclose(np.array(DLIB_150.points), expected, atol=0.05)
    assert AlignmentTemplate.from_dict(DLIB_150.to_dict()) == DLIB_150


def test_align_face_puts_landmarks_on_the_template():
    # A photo where the face is rotated, scaled and shifted relative to the template;
    # bright dots mark the landmark positions.
    truth = _similarity(15.0, 2.0, 120.0, 60.0)
    landmarks = _apply(truth, np.array(DLIB_150.points))
    image = np.zeros((500, 600, 3), np.uint8)
    for x, y in np.round(landmarks).astype(int):
        image[y - 2 : y + 3, x - 2 : x + 3] = 255
    crop = align_face(image, landmarks.astype(np.float32), DLIB_150)
    assert crop.shape == (150, 150, 3) and crop.dtype == np.uint8
    for x, y in np.round(DLIB_150.points).astype(int):
        assert crop[y, x].min() > 150, (x, y)
    assert crop[10, 10].max() == 0


def test_align_faces_stacks_and_handles_none():
    image = np.full((200, 200, 3), 90, np.uint8)
    points = np.array(DLIB_150.points, np.float32)
    assert align_faces(image, [], DLIB_150).shape == (0, 150, 150, 3)
    assert align_faces(image, [points, points + 10], DLIB_150).shape == (2, 150, 150, 3)


def test_estimate_similarity_rejects_mismatched_points():
    with pytest.raises(ValueError):
        estimate_similarity(np.zeros((5, 2)), np.zeros((4, 2)))


def test_outside_mask_marks_the_crop_pixels_beyond_the_frame():
    # The landmarks sit 50 px left of where the template puts them: with an identity
    # transform, crop column u samples photo column u - 50, so columns 0..49 are outside.
    landmarks = np.array(DLIB_150.points) - [50.0, 0.0]
    mask = outside_mask((150, 150, 3), landmarks, DLIB_150)
    assert mask.shape == (150, 150)
    assert mask[:, :50].all() and not mask[:, 50:].any()
    assert not outside_mask((150, 150, 3), np.array(DLIB_150.points), DLIB_150).any()


def _largest_face_landmarks(detector, path):
    image = decode_image(path, max_side=1600)
    return image.pixels, largest_face(detector.detect(image.pixels)).landmarks


def test_a_face_cut_by_the_photo_edge_gets_neutral_grey_not_streaks(ml_detector, ml_albums):
    # A real portrait whose frame cuts the left side of the face.
    pixels, landmarks = _largest_face_landmarks(ml_detector, ml_albums / "obama_biden" / "test" / "obama_partial_face.jpg")
    outside = outside_mask(pixels.shape, landmarks, DLIB_150)
    assert outside.mean() > 0.15
    # Away from the photo's edge by 2 px, where bilinear sampling blends in no photo pixel.
    deep = cv2.erode(outside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert deep.sum() > 1000

    assert (align_face(pixels, landmarks, DLIB_150, border=SHOWN_BORDER)[deep] == NEUTRAL_GREY).all()
    # The networks' border: the photo's edge pixels smeared across.
    streaks = align_face(pixels, landmarks, DLIB_150)[deep]
    assert NETWORK_BORDER == "replicate" and streaks.std(axis=0).max() > 20


def test_the_border_leaves_a_face_inside_the_photo_untouched(ml_detector, ml_albums):
    pixels, landmarks = _largest_face_landmarks(ml_detector, ml_albums / "obama_biden" / "train" / "obama" / "obama.jpg")
    assert not outside_mask(pixels.shape, landmarks, DLIB_150).any()
    np.testing.assert_array_equal(
        align_face(pixels, landmarks, DLIB_150, border="grey"), align_face(pixels, landmarks, DLIB_150, border="replicate")
    )


def test_align_face_refuses_an_unknown_border():
    with pytest.raises(ValueError, match="border"):
        align_face(np.zeros((50, 50, 3), np.uint8), np.array(DLIB_150.points), DLIB_150, border="mirror")

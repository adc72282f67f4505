import numpy as np
import pytest

from ml.align import DLIB_150, AlignmentTemplate, align_face, estimate_similarity
from ml.imageio import decode_image


def test_multiface_has_six_faces_with_sane_landmarks(ml_detector, albums_dir):
    image = decode_image(albums_dir / "friends" / "multiface.jpg").pixels
    faces = ml_detector.detect(image)
    assert len(faces) == 6
    assert [f.box[0] for f in faces] == sorted(f.box[0] for f in faces)
    for face in faces:
        x0, y0, x1, y1 = face.box
        assert face.score >= 0.9
        assert face.landmarks.shape == (5, 2)
        assert np.all((face.landmarks[:, 0] > x0) & (face.landmarks[:, 0] < x1))
        assert np.all((face.landmarks[:, 1] > y0) & (face.landmarks[:, 1] < y1))
        left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert max(left_eye[1], right_eye[1]) < max(mouth_left[1], mouth_right[1])


def test_boxes_are_in_input_pixels_whatever_the_detection_size(albums_dir):
    from ml.detect import FaceDetector

    image = decode_image(albums_dir / "bbt" / "bbt1.jpg", max_side=None).pixels
    small = FaceDetector(detect_side=480).detect(image)
    large = FaceDetector(detect_side=960).detect(image)
    assert len(small) == len(large) == 4
    for a, b in zip(small, large):
        assert np.allclose(a.box, b.box, atol=0.08 * (b.box[2] - b.box[0]))


def test_no_face_in_a_blank_image(ml_detector):
    assert ml_detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_detector_rejects_wrong_layout(ml_detector):
    with pytest.raises(ValueError, match="uint8 RGB"):
        ml_detector.detect(np.zeros((10, 10), np.uint8))


def test_similarity_estimate_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = np.deg2rad(17.0), 1.7, np.array([12.0, -5.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ rotation.T + shift
    matrix = estimate_similarity(src, dst)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_alignment_moves_landmarks_onto_the_template():
    template_points = np.array(DLIB_150.points)
    # Draw dots where the landmarks would be in a rotated, shrunken face, then align.
    angle = np.deg2rad(-20)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (template_points - 75) @ rotation.T * 0.6 + [200, 160]
    image = np.zeros((320, 400, 3), np.uint8)
    x, y = np.round(landmarks[0]).astype(int)
    image[y - 2 : y + 3, x - 2 : x + 3] = 255
    crop = align_face(image, landmarks, DLIB_150)
    assert crop.shape == (150, 150, 3)
    ys, xs = np.nonzero(crop[..., 0] > 100)
    assert abs(xs.mean() - template_points[0, 0]) < 1.5 and abs(ys.mean() - template_points[0, 1]) < 1.5


def test_template_round_trips_through_a_dict():
    assert AlignmentTemplate.from_dict(DLIB_150.to_dict()) == DLIB_150

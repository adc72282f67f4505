"""RetinaFace detection with five landmarks on real photos."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from ml.faces.imageio import decode_image


@pytest.fixture(scope="module")
def ml_multiface(ml_albums):
    return decode_image(ml_albums / "friends" / "multiface.jpg").pixels


def test_multiface_has_six_faces_with_sane_landmarks(ml_detector, ml_multiface):
    faces = ml_detector.detect(ml_multiface)
    assert len(faces) == 6
    assert [f.box[0] for f in faces] == sorted(f.box[0] for f in faces)
    for face in faces:
        x0, y0, x1, y1 = face.box
        assert face.score >= 0.9
        assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
        xs, ys = face.landmarks[:, 0], face.landmarks[:, 1]
        assert (xs >= x0).all() and (xs <= x1).all() and (ys >= y0).all() and (ys <= y1).all()
        left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
        # Upright faces: eyes above the nose above the mouth, image-left before image-right.
        assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_coordinates_map_back_to_the_input_size(ml_detector, ml_multiface):
    # Same photo at twice the size: detection runs at detect_side either way, so the
    # boxes must come back exactly twice as large (up to resampling noise).
    small = ml_detector.detect(ml_multiface)
    big_image = cv2.resize(ml_multiface, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    big = ml_detector.detect(big_image)
    assert len(big) == len(small)
    for a, b in zip(small, big):
        np.testing.assert_allclose(np.array(b.box) / 2, a.box, atol=3.0)
        np.testing.assert_allclose(b.landmarks / 2, a.landmarks, atol=3.0)


def test_min_face_size_and_blank_image(ml_multiface):
    from ml.faces.detect import FaceDetector

    assert FaceDetector(min_face_px=1000).detect(ml_multiface) == []
    assert FaceDetector().detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_face_filling_a_small_crop_is_found(ml_detector, ml_data_dir):
    # celeba5 crops are 128x128 with the face filling the frame.
    folder = ml_data_dir / "celeba5" / "test"
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    paths = sorted(folder.glob("*/*.webp"))[:20]
    found = [len(ml_detector.detect(decode_image(p).pixels)) for p in paths]
    assert sum(n >= 1 for n in found) >= 19, found


def test_detect_batch_matches_detect(ml_detector, ml_multiface):
    single = ml_detector.detect(ml_multiface)
    (batched,) = ml_detector.detect_batch([ml_multiface])
    assert [f.box for f in batched] == [f.box for f in single]


def test_rejects_non_rgb_input(ml_detector):
    with pytest.raises(ValueError):
        ml_detector.detect(np.zeros((100, 100), np.uint8))


@pytest.fixture(scope="module")
def ml_bbt3(ml_albums):
    return decode_image(ml_albums / "bbt" / "bbt3.jpg").pixels


@pytest.mark.parametrize("clockwise", [90, 180, 270])
def test_turned_passes_find_sideways_faces_where_they_are(ml_detector, ml_bbt3, clockwise):
    from ml.evaluation.detection_cases import rotate_boxes
    from ml.evaluation.detection_scores import iou_matrix
    from ml.faces.detect import FaceDetector

    upright = ml_detector.detect(ml_bbt3)
    assert len(upright) == 5
    height, width = ml_bbt3.shape[:2]
    expected = rotate_boxes(np.array([f.box for f in upright]), width, height, clockwise)
    turned_image = np.ascontiguousarray(np.rot90(ml_bbt3, k=-clockwise // 90))
    assert len(ml_detector.detect(turned_image)) < 5  # one upright pass misses sideways faces
    found = FaceDetector(num_threads=2, turns=(90, 180, 270)).detect(turned_image)
    assert len(found) == 5
    assert (iou_matrix(expected, [f.box for f in found]).max(axis=1) > 0.8).all()
    for face in found:  # landmarks are turned back with their box
        x0, y0, x1, y1 = face.box
        assert ((face.landmarks >= [x0, y0]) & (face.landmarks <= [x1, y1])).all()


def test_extra_scales_merge_into_one_box_per_face(ml_multiface):
    from ml.faces.detect import FaceDetector

    faces = FaceDetector(num_threads=2, extra_sides=(320, 1280)).detect(ml_multiface)
    assert len(faces) == 6


def test_upscale_enlarges_a_small_photo_to_find_its_small_faces(ml_albums):
    from ml.faces.detect import FaceDetector

    image = decode_image(ml_albums / "bbt" / "bbt1.jpg", max_side=320).pixels  # faces of about 24 px
    assert len(FaceDetector(num_threads=2).detect(image)) < 4
    assert len(FaceDetector(num_threads=2, upscale=True).detect(image)) == 4


def test_a_face_found_sideways_aligns_like_the_upright_one(ml_detector, ml_bbt3):
    from ml.faces.align import DLIB_150, align_faces
    from ml.faces.detect import FaceDetector

    upright = ml_detector.detect(ml_bbt3)
    turned = np.ascontiguousarray(np.rot90(ml_bbt3, k=-1))  # 90 degrees clockwise
    sideways = FaceDetector(num_threads=2, turns=(270,)).detect(turned)  # found by the pass that turns it back
    assert len(sideways) == 5
    # Left to right in the upright photo is top to bottom in the turned one.
    sideways.sort(key=lambda f: f.box[1])
    chips_upright = align_faces(ml_bbt3, [f.landmarks for f in upright], DLIB_150).astype(float)
    chips_sideways = align_faces(turned, [f.landmarks for f in sideways], DLIB_150).astype(float)
    differences = np.abs(chips_upright - chips_sideways).mean(axis=(1, 2, 3))
    assert (differences < 20).all(), differences


def _counting_runs(detector):
    runs = []
    run = detector._run
    detector._run = lambda resized: runs.append(resized.shape) or run(resized)
    return runs


def test_turned_passes_are_skipped_when_every_face_found_stands_upright(ml_bbt3):
    from ml.faces.detect import FaceDetector

    detector = FaceDetector(num_threads=2, turns=(90, 180, 270))
    runs = _counting_runs(detector)
    assert len(detector.detect(ml_bbt3)) == 5
    assert len(runs) == 1  # the photo is the right way up: one run of the network


def test_turned_passes_run_when_the_upright_pass_finds_a_face_lying_sideways_or_none(ml_bbt3):
    from ml.faces.detect import FaceDetector

    detector = FaceDetector(num_threads=2, turns=(90, 180, 270))
    runs = _counting_runs(detector)
    detector.detect(np.ascontiguousarray(np.rot90(ml_bbt3, k=-1)))
    assert len(runs) == 4
    runs.clear()
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    assert len(runs) == 4  # nothing found upright: the photo may be sideways


def test_a_leaning_head_in_an_upright_photo_costs_one_turned_pass_not_three(ml_albums):
    """sample1 is the right way up, with heads leaning 35 and 45 degrees: one turned pass
    (the one the leaning heads vote for) covers a photo whose turn they partly undo."""
    from ml.faces.detect import FaceDetector

    detector = FaceDetector(num_threads=2, turns=(90, 180, 270))
    runs = _counting_runs(detector)
    assert len(detector.detect(decode_image(ml_albums / "groups" / "sample1.jpg").pixels)) == 3
    assert len(runs) == 2


def test_a_small_crop_is_padded_not_enlarged(ml_bbt3):
    from ml.faces.detect import FaceDetector

    detector = FaceDetector(num_threads=2, upscale=True)
    runs = _counting_runs(detector)
    detector.detect(np.ascontiguousarray(ml_bbt3[:200, :200]))
    assert runs == [(200, 200, 3)]  # one run (padded to 256 inside), no enlarged copy


def test_a_sideways_photo_of_tilted_heads_still_gets_the_turned_passes(ml_albums):
    """sample1's three heads lean left and right: turned 270 degrees, the upright pass
    finds the two that the turn brings near upright and must not stop there."""
    from ml.faces.detect import FaceDetector

    upright = decode_image(ml_albums / "groups" / "sample1.jpg").pixels
    for quarter in (1, -1):  # 270 and 90 degrees clockwise
        turned = np.ascontiguousarray(np.rot90(upright, k=quarter))
        assert len(FaceDetector(num_threads=2, turns=(90, 180, 270)).detect(turned)) == 3, quarter

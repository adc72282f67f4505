"""The face-quality score on real album faces: sharper, bigger, more frontal and surer
faces score higher, and the blurred bystander of bbt2.jpg scores low."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ml.faces.boxes import largest_face
from ml.faces.imageio import DecodedImage
from ml.faces.pipeline import FacePipeline
from ml.faces.quality import QualityMeasures, face_quality, quality_measures, yaw_share

DEFAULT_MIN = 0.2  # VISAGE_FACE_QUALITY_MIN's default (webapp/settings.py)


@pytest.fixture(scope="module")
def pipeline(ml_detector, ml_embedder):
    return FacePipeline(detector=ml_detector, embedder=ml_embedder)


def decoded(image: Image.Image) -> DecodedImage:
    pixels = np.asarray(image.convert("RGB"))
    return DecodedImage(pixels=pixels, original_width=pixels.shape[1], original_height=pixels.shape[0], scale=1.0, taken_at=None)


def face_measures(pipeline, image: Image.Image) -> QualityMeasures:
    face = largest_face(pipeline.process_decoded([decoded(image)])[0])
    return quality_measures(face.shown, face.box, face.landmarks, face.score)


@pytest.fixture(scope="module")
def portrait(ml_albums) -> Image.Image:
    """A sharp, frontal, well-lit portrait: Kate Siegel, box 215 px."""
    return Image.open(ml_albums / "friends" / "kate_siegel.jpg").convert("RGB")


def test_a_sharp_portrait_scores_full_marks(pipeline, portrait):
    assert face_measures(pipeline, portrait).factors().score == 1.0


def test_blurring_the_photo_lowers_sharpness_and_the_score(pipeline, portrait):
    measures = [face_measures(pipeline, portrait.filter(ImageFilter.GaussianBlur(radius))) for radius in (0, 2, 4, 8)]
    sharpness = [m.sharpness for m in measures]
    scores = [m.factors().score for m in measures]
    assert sharpness == sorted(sharpness, reverse=True) and sharpness[0] > 2 * sharpness[-1]
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] < DEFAULT_MIN, scores  # a face blurred this much is left out
    assert [m.factors().weakest for m in measures[2:]] == ["sharpness", "sharpness"]


def test_shrinking_the_photo_lowers_size_and_the_score(pipeline, ml_albums):
    # The BBT cast photo: faces of about 100 px, shrunk to about 50, 33 and 25 px.
    photo = Image.open(ml_albums / "bbt" / "bbt1.jpg").convert("RGB")
    measures = [face_measures(pipeline, photo.resize((photo.width // k, photo.height // k), Image.Resampling.LANCZOS))
                for k in (1, 2, 3, 4)]
    sizes = [m.short_side for m in measures]
    assert sizes == sorted(sizes, reverse=True)
    factors = [m.factors() for m in measures]
    assert [f.size for f in factors] == sorted((f.size for f in factors), reverse=True)
    assert factors[0].size == 1.0 and factors[-1].size < 0.5
    assert [f.score for f in factors] == sorted((f.score for f in factors), reverse=True)
    assert factors[-1].score < DEFAULT_MIN


def test_turning_the_nose_away_from_the_middle_lowers_the_pose_factor(pipeline, portrait):
    face = largest_face(pipeline.process_decoded([decoded(portrait)])[0])
    eye_span = face.landmarks[1, 0] - face.landmarks[0, 0]
    poses, yaws = [], []
    for shift in (0.0, 0.3, 0.7, 1.2):  # the nose moved sideways, a share of the eye span
        landmarks = face.landmarks.copy()
        landmarks[2, 0] += shift * eye_span
        yaws.append(yaw_share(landmarks))
        poses.append(quality_measures(face.shown, face.box, landmarks, face.score).factors().pose)
    assert yaws == sorted(yaws)
    assert poses == sorted(poses, reverse=True) and poses[0] == 1.0 and poses[-1] < DEFAULT_MIN


def test_a_surer_detection_scores_higher(pipeline, portrait):
    face = largest_face(pipeline.process_decoded([decoded(portrait)])[0])
    scores = [face_quality(face.shown, face.box, face.landmarks, s) for s in (0.99, 0.93, 0.9, 0.86)]
    assert scores == sorted(scores, reverse=True) and scores[0] == 1.0 and scores[-1] < DEFAULT_MIN


def test_the_blurred_bystander_of_bbt2_scores_low_and_the_two_in_front_do_not(pipeline, ml_albums):
    image = Image.open(ml_albums / "bbt" / "bbt2.jpg")
    faces = sorted(pipeline.process_decoded([decoded(image)])[0], key=lambda f: f.box[0])
    scores = [face_quality(f.shown, f.box, f.landmarks, f.score) for f in faces]
    # Left to right: the blurred man behind Leonard (cut by the left edge), Leonard, Sheldon.
    assert len(faces) == 3 and faces[0].box[0] < 10
    assert scores[0] < DEFAULT_MIN <= min(scores[1:]), scores

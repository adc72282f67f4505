"""How much a face's embedding can be trusted, in [0, 1], from what is known of it at ingest.

A face too blurred, too small, turned too far or barely a face to the detector still
gets an embedding, but one that lands near strangers: such faces seed wrong groups and
vote for wrong names. The score is the weakest of four factors, each 1 where the factor
no longer matters and falling linearly to 0 at a point where it ruins the embedding, so
a low score says which one thing is wrong (``QualityFactors.weakest``), not a blend.

Everything it reads is stored with a face (its thumbnail, box, landmarks, detector
score), so faces stored before the score existed can be scored later. Not a factor: the
embedding's norm before normalisation, which the shipped networks do not expose (both
normalise inside ``forward``, ml/faces/nets/), so it would cost a change of every
network for a signal the other four already carry."""
from __future__ import annotations

from dataclasses import astuple, dataclass

import cv2
import numpy as np

# Sharpness: variance of the Laplacian over the middle of the aligned crop (eyes, nose
# and mouth; the hair and background around them are left out), measured at this side.
# On the album photos a blurred bystander (bbt2.jpg, left) measures 17 and a soft-focus
# face 25; slightly soft faces of group photos 40-57, faces in focus 60 and more
# (docs/benchmarks.md, face quality filter).
SHARPNESS_SIDE = 150
SHARPNESS_WINDOW = (0.23, 0.8)  # share of the side, both axes: template eyes to mouth
SHARP_BAD, SHARP_GOOD = 10.0, 60.0
# Size: the short side of the detector's box in photo pixels. The detector's own floor
# is 20 px (VISAGE_DETECT_MIN_FACE_PX); below about 40 px the crop is an upscaled blur of
# a few pixels per feature.
SIZE_BAD, SIZE_GOOD = 16.0, 40.0
# Pose: how far the nose sits off the middle of the eyes and of the mouth corners (see
# ``yaw_share``: 0 frontal, about 1 with the nose under one eye). On the album photos the
# three-quarter views of bbt2.jpg measure 1.0-1.1 and are still named right
# (tests/webapp/people/test_bbt_naming.py), the profile of sample2.jpg measures 5.7.
# Alignment undoes roll (a tilted head), so roll is no factor.
YAW_GOOD, YAW_BAD = 1.2, 2.5
# Detector score: faces are kept from 0.9 (VISAGE_DETECT_MIN_SCORE); clear faces score
# 0.97 and more on the album photos.
SCORE_BAD, SCORE_GOOD = 0.85, 0.95


@dataclass(frozen=True)
class QualityFactors:
    sharpness: float
    size: float
    pose: float
    detection: float

    @property
    def score(self) -> float:
        return min(astuple(self))

    @property
    def weakest(self) -> str:
        return min(vars(self), key=lambda name: getattr(self, name))


def _ramp(value: float, bad: float, good: float) -> float:
    """0 at ``bad``, 1 at ``good``, linear between (either order), clipped."""
    return float(np.clip((value - bad) / (good - bad), 0.0, 1.0))


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the middle of an aligned (S, S, 3) uint8 RGB crop."""
    gray = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    if gray.shape[0] != SHARPNESS_SIDE:
        gray = cv2.resize(gray, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    lo, hi = (round(share * SHARPNESS_SIDE) for share in SHARPNESS_WINDOW)
    return float(cv2.Laplacian(gray[lo:hi, lo:hi].astype(np.float32), cv2.CV_32F).var())


def yaw_share(landmarks: np.ndarray) -> float:
    """0 for a frontal face, about 1 with the nose under one eye, more for a profile: the
    nose's offset from the middle of the eyes and from the middle of the mouth corners
    along each pair's line, as a share of half the pair's span, averaged."""
    points = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    nose = points[2]
    offsets = []
    for a, b in ((points[0], points[1]), (points[3], points[4])):
        axis = b - a
        half = np.linalg.norm(axis) / 2
        if half < 1e-6:
            return 1.0  # both points of a pair in one place: nothing frontal about it
        offsets.append(abs(float(np.dot(nose - (a + b) / 2, axis / (2 * half)))) / half)
    return float(np.mean(offsets))


@dataclass(frozen=True)
class QualityMeasures:
    """What the factors are made of, in their own units (kept by benchmarks so that new
    breakpoints need no new detection)."""

    sharpness: float  # variance of the Laplacian, see ``sharpness``
    short_side: float  # of the box, photo pixels
    yaw: float  # see ``yaw_share``
    detection_score: float

    def factors(self) -> QualityFactors:
        return QualityFactors(
            sharpness=_ramp(self.sharpness, SHARP_BAD, SHARP_GOOD),
            size=_ramp(self.short_side, SIZE_BAD, SIZE_GOOD),
            pose=_ramp(self.yaw, YAW_BAD, YAW_GOOD),
            detection=_ramp(self.detection_score, SCORE_BAD, SCORE_GOOD),
        )


def quality_measures(
    crop: np.ndarray, box: tuple[float, float, float, float], landmarks: np.ndarray, detection_score: float
) -> QualityMeasures:
    """crop: the aligned face as stored; box and landmarks in photo pixels."""
    return QualityMeasures(
        sharpness=sharpness(crop),
        short_side=float(min(box[2] - box[0], box[3] - box[1])),
        yaw=yaw_share(landmarks),
        detection_score=float(detection_score),
    )


def face_quality(crop: np.ndarray, box, landmarks, detection_score: float) -> float:
    return round(quality_measures(crop, box, landmarks, detection_score).factors().score, 4)

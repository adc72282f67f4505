"""Face alignment: a similarity transform (rotation, uniform scale, shift) that puts the
five detected landmarks as close as possible to a network's template points."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AlignmentTemplate:
    name: str
    size: int  # output is size x size pixels
    points: tuple[tuple[float, float], ...]  # 5 (x, y) in output pixels, in detector landmark order

    def to_dict(self) -> dict:
        return {"name": self.name, "size": self.size, "points": [list(p) for p in self.points]}

    @classmethod
    def from_dict(cls, data: dict) -> "AlignmentTemplate":
        return cls(data["name"], int(data["size"]), tuple((float(x), float(y)) for x, y in data["points"]))


def _dlib_chip_points(size: int = 150, padding: float = 0.25) -> tuple[tuple[float, float], ...]:
    """Where dlib's face chip (get_face_chip_details, size 150, padding 0.25) puts the eye
    centres, nose tip and mouth corners: its mean face shape, scaled into the chip."""
    mean_face = {  # dlib mean_face_shape, unit square: eye centroids of points 36-41 / 42-47, 30, 48, 54
        "left_eye": (0.225492, 0.215990),
        "right_eye": (0.754761, 0.215990),
        "nose": (0.490127, 0.515625),
        "mouth_left": (0.254149, 0.780233),
        "mouth_right": (0.726104, 0.780233),
    }
    return tuple(
        (round((x + padding) / (1 + 2 * padding) * size, 3), round((y + padding) / (1 + 2 * padding) * size, 3))
        for x, y in mean_face.values()
    )


DLIB_150 = AlignmentTemplate("dlib_chip_150", 150, _dlib_chip_points())
# The five-point template of InsightFace's ArcFace crop (112x112), which MobileFaceNet and
# the other 112-pixel networks were trained on; in the detector's landmark order.
ARCFACE_112 = AlignmentTemplate("arcface_112", 112, (
    (38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366), (41.5493, 92.3655), (70.7299, 92.2041),
))

# Where the five landmarks sit in a face's box, as fractions of its width and height from
# its top-left corner: the mean over the 61 faces RetinaFace finds in the album photos
# (shared/datasets/albums; spread 4 % of the box vertically, 9-16 % horizontally, mostly
# from turned heads). A box a person draws round a face is read the same way when the
# detector finds no face in it (the back of a head, a face too blurred or too turned).
MEAN_LANDMARKS_IN_BOX = ((0.269, 0.408), (0.696, 0.409), (0.472, 0.613), (0.309, 0.746), (0.669, 0.747))


def landmarks_in_box(box: tuple[float, float, float, float]) -> np.ndarray:
    """(5, 2) float32 landmarks estimated from a face box alone (MEAN_LANDMARKS_IN_BOX)."""
    x0, y0, x1, y1 = box
    return (np.array([x0, y0]) + np.array(MEAN_LANDMARKS_IN_BOX) * [x1 - x0, y1 - y0]).astype(np.float32)


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, 3) matrix of the least-squares similarity transform mapping src to dst.

    src, dst: (N, 2) points, N >= 2. Umeyama's closed form, reflections excluded."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two matching (N>=2, 2) point sets, got {src.shape} and {dst.shape}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rotation = u @ np.diag(d) @ vt
    variance = (src_c**2).sum() / len(src)
    scale = (singular * d).sum() / variance
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


# What fills the part of a crop that lies outside the photo (a face cut by the frame).
# "replicate" repeats the photo's edge pixels into it (stretched streaks); "grey" fills it
# with one neutral colour. The networks get "replicate": what every stored embedding was
# made from, and grey costs them VAL at FAR=1e-3 on faces cut by the frame (celeba5 val
# cut by 30 %: 78.6 -> 61.7 % for v2, docs/benchmarks.md). A person is shown "grey".
BORDERS = ("replicate", "grey")
NEUTRAL_GREY = 128
NETWORK_BORDER = "replicate"
SHOWN_BORDER = "grey"


def _crop_matrix(landmarks: np.ndarray, template: AlignmentTemplate) -> np.ndarray:
    return estimate_similarity(np.asarray(landmarks).reshape(5, 2), np.asarray(template.points))


def align_face(
    image: np.ndarray, landmarks: np.ndarray, template: AlignmentTemplate, *, border: str = NETWORK_BORDER
) -> np.ndarray:
    """(size, size, 3) uint8 crop of ``image`` with the landmarks moved onto the template."""
    if border not in BORDERS:
        raise ValueError(f"border must be one of {BORDERS}, got {border!r}")
    fill = {"borderMode": cv2.BORDER_REPLICATE} if border == "replicate" else {
        "borderMode": cv2.BORDER_CONSTANT, "borderValue": (NEUTRAL_GREY,) * 3}
    return cv2.warpAffine(
        image, _crop_matrix(landmarks, template), (template.size, template.size), flags=cv2.INTER_LINEAR, **fill
    )


def outside_mask(image_shape: tuple[int, ...], landmarks: np.ndarray, template: AlignmentTemplate) -> np.ndarray:
    """(size, size) bool: the crop pixels whose source point lies outside the photo
    (beyond the outermost pixel centres), i.e. the part the border fills."""
    inverse = cv2.invertAffineTransform(_crop_matrix(landmarks, template))
    v, u = np.mgrid[0 : template.size, 0 : template.size].astype(np.float64)
    x = inverse[0, 0] * u + inverse[0, 1] * v + inverse[0, 2]
    y = inverse[1, 0] * u + inverse[1, 1] * v + inverse[1, 2]
    height, width = image_shape[:2]
    eps = 1e-3  # a point a rounding error beyond the edge still reads the edge pixel
    return (x < -eps) | (x > width - 1 + eps) | (y < -eps) | (y > height - 1 + eps)


def align_faces(
    image: np.ndarray, landmarks: list[np.ndarray], template: AlignmentTemplate, *, border: str = NETWORK_BORDER
) -> np.ndarray:
    """(N, size, size, 3) uint8: every face of one image aligned."""
    if not landmarks:
        return np.zeros((0, template.size, template.size, 3), dtype=np.uint8)
    return np.stack([align_face(image, points, template, border=border) for points in landmarks])

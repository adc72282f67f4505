"""Which face of an image to use when only one is wanted, chosen by its box.

Works on anything with a ``box`` of (x0, y0, x1, y1) pixels: the detector's
``DetectedFace`` and the pipeline's ``FaceRecord`` alike."""
from __future__ import annotations

from typing import Protocol, Sequence, TypeVar

import numpy as np


class HasBox(Protocol):
    box: tuple[float, float, float, float]


Face = TypeVar("Face", bound=HasBox)


def largest_face(faces: Sequence[Face]) -> Face:
    """The face with the largest box: the person a photo is of, in a snapshot with
    people behind."""
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def central_face(faces: Sequence[Face], width: int, height: int) -> Face:
    """The face whose box centre is nearest the image centre: the subject of a portrait
    crop, where a bystander at the edge can be as large."""
    centre = np.array([width / 2, height / 2])
    return min(
        faces,
        key=lambda f: float(np.linalg.norm(np.array([(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2]) - centre)),
    )


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes: 1 for the same box, 0 for
    boxes that do not touch."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return float(overlap / union) if union > 0 else 0.0


def boxes_match(before: Sequence[Sequence[float]], after: Sequence[Sequence[float]], min_iou: float) -> list[tuple[int, int]]:
    """(index in ``before``, index in ``after``) of the boxes that are the same face in two
    detections of one photo: greedily by overlap, each box in at most one pair, and only
    pairs that overlap by at least ``min_iou``."""
    candidates = sorted(
        ((box_iou(a, b), i, j) for i, a in enumerate(before) for j, b in enumerate(after)), reverse=True
    )
    pairs, used_before, used_after = [], set(), set()
    for iou, i, j in candidates:
        if iou < min_iou:
            break
        if i not in used_before and j not in used_after:
            pairs.append((i, j))
            used_before.add(i)
            used_after.add(j)
    return pairs

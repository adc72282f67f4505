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

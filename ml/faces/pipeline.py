"""Detect -> align -> embed for a batch of decoded photos, with per-stage timings."""
from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from ml.faces.align import NETWORK_BORDER, SHOWN_BORDER, align_faces, landmarks_in_box
from ml.faces.boxes import box_iou
from ml.faces.detect import DetectedFace, FaceDetector
from ml.faces.embed import Embedder
from ml.faces.imageio import DecodedImage, ImageDecodeError, decode_image

if TYPE_CHECKING:  # the fused model builds on this package; the pipeline only runs it
    from ml.fusion.model import FusedEmbedder


@dataclass
class FaceRecord:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in full-resolution photo pixels
    landmarks: np.ndarray  # (5, 2) float32, full-resolution photo pixels
    score: float
    embedding: np.ndarray  # (128,) float32, unit norm
    aligned: np.ndarray  # (S, S, 3) uint8, the crop the network saw
    shown: np.ndarray  # the same crop as a person sees it: neutral grey beyond the photo's edge


# How far round a box a person drew the detector looks for the face, in box sides on each
# side: a loose or a tight box still leaves the detector the whole face and some context.
DRAWN_BOX_MARGIN = 0.5
# The least overlap with the drawn box for a detected face to be the one the person meant
# (a neighbour's face in the margin overlaps it far less).
DRAWN_BOX_MIN_IOU = 0.3


@dataclass
class StageTimings:
    """Milliseconds spent per stage, summed over every call since the last reset."""

    decode_ms: float = 0.0
    detect_ms: float = 0.0
    align_ms: float = 0.0
    embed_ms: float = 0.0

    def reset(self) -> None:
        for field in fields(self):
            setattr(self, field.name, 0.0)


class FacePipeline:
    def __init__(self, *, detector: FaceDetector, embedder: Embedder | FusedEmbedder) -> None:
        self.detector = detector
        self.embedder = embedder
        self.timings = StageTimings()

    def process_decoded(self, images: list[DecodedImage], *, border: str = NETWORK_BORDER) -> list[list[FaceRecord]]:
        """Faces of each image; all faces of the batch are embedded together."""
        return self.embed_detected(images, self.detect(images), border=border)

    def detect(self, images: list[DecodedImage]) -> list[list[DetectedFace]]:
        detections_per_image = []
        for image in images:
            start = time.perf_counter()
            detections_per_image.append(self.detector.detect(image.pixels))
            self.timings.detect_ms += (time.perf_counter() - start) * 1000
        return detections_per_image

    def embed_detected(
        self, images: list[DecodedImage], detections_per_image: list[list[DetectedFace]], *, border: str = NETWORK_BORDER
    ) -> list[list[FaceRecord]]:
        """Align and embed faces already detected (so one detection can serve several
        alignments, as the evaluation of crop borders does). Each face is aligned once per
        template of the embedder (a fused model has several); the records keep the
        primary template's crops."""
        templates = self.embedder.templates
        crops_per_image: list[tuple[np.ndarray, ...]] = []
        shown_per_image: list[np.ndarray] = []
        for image, detections in zip(images, detections_per_image):
            start = time.perf_counter()
            landmarks = [d.landmarks for d in detections]
            crops_per_image.append(tuple(align_faces(image.pixels, landmarks, t, border=border) for t in templates))
            shown_per_image.append(align_faces(image.pixels, landmarks, templates[0], border=SHOWN_BORDER))
            self.timings.align_ms += (time.perf_counter() - start) * 1000

        start = time.perf_counter()
        if sum(len(d) for d in detections_per_image):
            all_crops = tuple(np.concatenate([crops[k] for crops in crops_per_image]) for k in range(len(templates)))
            embeddings = self.embedder.embed(all_crops)
        else:
            embeddings = np.zeros((0, self.embedder.embedding_dim))
        self.timings.embed_ms += (time.perf_counter() - start) * 1000

        results: list[list[FaceRecord]] = []
        offset = 0
        for image, detections, crops, shown in zip(images, detections_per_image, crops_per_image, shown_per_image):
            records = []
            for index, detection in enumerate(detections):
                records.append(
                    FaceRecord(
                        box=tuple(v / image.scale for v in detection.box),
                        landmarks=detection.landmarks / image.scale,
                        score=detection.score,
                        embedding=embeddings[offset + index],
                        aligned=crops[0][index],
                        shown=shown[index],
                    )
                )
            offset += len(detections)
            results.append(records)
        return results

    def face_in_box(self, image: DecodedImage, box: tuple[float, float, float, float]) -> FaceRecord:
        """The face a person drew ``box`` round (full-resolution pixels), aligned and
        embedded like a detected one. Its landmarks come from the detector run on the
        region round the box when it finds a face there overlapping the box, else they
        are estimated from the box (score 0). The record keeps the drawn box: the user's
        word on where the face is."""
        drawn = tuple(v * image.scale for v in box)
        side_x, side_y = drawn[2] - drawn[0], drawn[3] - drawn[1]
        height, width = image.pixels.shape[:2]
        x0, y0 = max(0, math.floor(drawn[0] - DRAWN_BOX_MARGIN * side_x)), max(0, math.floor(drawn[1] - DRAWN_BOX_MARGIN * side_y))
        x1 = min(width, math.ceil(drawn[2] + DRAWN_BOX_MARGIN * side_x))
        y1 = min(height, math.ceil(drawn[3] + DRAWN_BOX_MARGIN * side_y))
        start = time.perf_counter()
        found = self.detector.detect(np.ascontiguousarray(image.pixels[y0:y1, x0:x1]))
        self.timings.detect_ms += (time.perf_counter() - start) * 1000
        shifted = [(d, (d.box[0] + x0, d.box[1] + y0, d.box[2] + x0, d.box[3] + y0)) for d in found]
        best = max(shifted, key=lambda item: box_iou(item[1], drawn), default=None)
        if best is not None and box_iou(best[1], drawn) >= DRAWN_BOX_MIN_IOU:
            detection = DetectedFace(drawn, best[0].landmarks + np.float32([x0, y0]), best[0].score)
        else:
            detection = DetectedFace(drawn, landmarks_in_box(drawn), 0.0)
        return self.embed_detected([image], [[detection]])[0][0]

    def decode_timed(self, decode, *args, **kwargs) -> DecodedImage:
        """Run a decode call and count its time as the decode stage."""
        start = time.perf_counter()
        try:
            return decode(*args, **kwargs)
        finally:
            self.timings.decode_ms += (time.perf_counter() - start) * 1000

    def process_paths(
        self, paths: Sequence[str | os.PathLike], *, max_side: int | None = 1600
    ) -> list[list[FaceRecord] | ImageDecodeError]:
        """Decode and process files; a file that cannot be decoded yields its
        ImageDecodeError in its slot instead of failing the whole batch."""
        decoded: list[DecodedImage | ImageDecodeError] = []
        for path in paths:
            try:
                decoded.append(self.decode_timed(decode_image, path, max_side=max_side))
            except ImageDecodeError as error:
                decoded.append(error)
        good = [image for image in decoded if isinstance(image, DecodedImage)]
        faces = iter(self.process_decoded(good))
        return [item if isinstance(item, ImageDecodeError) else next(faces) for item in decoded]

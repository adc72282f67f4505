"""Aligned crops of stored faces, re-made from their photos: the input a network needs to
re-embed a face (model switch) or to learn from it (retraining)."""
from __future__ import annotations

import io
import logging
from collections.abc import Sequence

import numpy as np
from PIL import Image

from django.conf import settings

from ml.faces.align import AlignmentTemplate, align_face, align_faces, estimate_similarity
from ml.faces.imageio import DecodedImage, ImageDecodeError, decode_image
from webapp.faces.models import Face, NetworkCrop
from webapp.photos.models import Photo
from webapp.photos.originals import photo_open

logger = logging.getLogger(__name__)


def photo_decode(photo: Photo) -> DecodedImage:
    """The photo's original (stored upload or library file) as the upload path decodes it
    (limits, draft-mode downscale)."""
    try:
        with photo_open(photo) as handle:
            return decode_image(
                handle,
                max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS,
                max_side=settings.VISAGE_DECODE_MAX_SIDE,
            )
    except FileNotFoundError as exc:
        raise ImageDecodeError("the stored file is missing") from exc
    except PermissionError as exc:  # a library file the server may not read, or one leading outside it
        raise ImageDecodeError(f"the file cannot be read: {exc.strerror or exc}") from exc


def face_crops(faces: Sequence[Face], template: AlignmentTemplate) -> np.ndarray:
    """(N, S, S, 3) uint8 crops in the order of ``faces`` (each needs photo, landmarks,
    thumbnail), aligned exactly as an upload is: each photo decoded once, the stored
    full-resolution landmarks scaled into the decoded pixels.

    A photo that can no longer be read (file lost, storage down) falls back to the crop
    its faces' network saw at upload, stored as JPEG, so one unreadable file cannot block a
    switch of versions for the whole library: the thumbnail, or for a face cut by the
    photo's edge, whose thumbnail is shown with grey there, its NetworkCrop."""
    return _crops(faces, (template,))[0]


def face_crops_for(faces: Sequence[Face], embedder) -> tuple[np.ndarray, ...]:
    """The crops ``embedder.embed`` takes: as face_crops, one array per template of the
    embedder (a fused model has several), each photo decoded once for all of them."""
    return _crops(faces, embedder.templates)


def _crops(faces: Sequence[Face], templates: tuple[AlignmentTemplate, ...]) -> tuple[np.ndarray, ...]:
    crops = tuple(np.zeros((len(faces), t.size, t.size, 3), np.uint8) for t in templates)
    by_photo: dict[int, list[int]] = {}
    for index, face in enumerate(faces):
        by_photo.setdefault(face.photo_id, []).append(index)
    unreadable: list[int] = []
    for indices in by_photo.values():
        photo = faces[indices[0]].photo
        try:
            image = photo_decode(photo)
        except ImageDecodeError as exc:
            logger.warning("photo %s unreadable (%s): using its faces' stored crops", photo.pk, exc)
            unreadable += indices
            continue
        landmarks = [np.asarray(faces[i].landmarks, np.float32) * image.scale for i in indices]
        for array, template in zip(crops, templates):
            array[indices] = align_faces(image.pixels, landmarks, template)
    if unreadable:
        network = dict(NetworkCrop.objects.filter(face_id__in=[faces[i].pk for i in unreadable]).values_list("face_id", "jpeg"))
        primary = templates[0]
        for index in unreadable:
            crops[0][index] = jpeg_crop(network.get(faces[index].pk, faces[index].thumbnail), primary)
            # Only the primary template's crop is stored; the others are cut from it. The
            # face's landmarks, carried into the primary crop by the similarity that made
            # it, are aligned from there: the transform that maps the primary template
            # onto the other as fitted to this face (not just template onto template).
            # Where the other crop reaches past the primary one (about a quarter of the
            # ArcFace crop, which frames the face wider than the dlib chip) the chip's edge
            # is repeated, as a photo's edge is: its vector is close to, not equal to, the
            # one the photo gives (fr_feature: 0.08-0.11 cosine distance on album faces).
            landmarks = np.asarray(faces[index].landmarks, np.float32)
            in_primary = carried(landmarks, estimate_similarity(landmarks, np.asarray(primary.points)))
            for array, template in zip(crops[1:], templates[1:]):
                array[index] = align_face(crops[0][index], in_primary, template)
    return crops


def carried(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(5, 2) points under a 2x3 affine matrix."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def jpeg_crop(data: bytes, template: AlignmentTemplate) -> np.ndarray:
    image = Image.open(io.BytesIO(bytes(data))).convert("RGB")
    if image.size != (template.size, template.size):
        image = image.resize((template.size, template.size), Image.Resampling.BILINEAR)
    return np.asarray(image)

"""Answering "who is this?" and "same person?" for faces in the library or in a photo
that is NOT added to it (the upload lives only for the request)."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from django.conf import settings

from ml.faces.boxes import largest_face
from ml.faces.imageio import ImageDecodeError, decode_image
from ml.faces.pipeline import FaceRecord
from webapp.faces.models import EmbeddingModel, Face
from webapp.faces.runtime import face_pipeline_for
from webapp.faces.selectors import embedding_model_active
from webapp.photos.thumbnails import jpeg_bytes
from webapp.photos.validation import UploadRejected, inspect_image
from webapp.search.selectors import PersonGuess, SimilarFace, embedding_similar, person_guess

MATCHES_PER_FACE = 6


class QueryError(ValueError):
    """Bad input to a search: shown to the user, answered with ``status`` by the API."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class IdentifiedFace:
    box: tuple[float, float, float, float]
    crop_jpeg: bytes
    matches: list[SimilarFace]
    guess: PersonGuess

    @property
    def crop_data_uri(self) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(self.crop_jpeg).decode()


@dataclass
class Verification:
    distance: float
    same: bool
    threshold: float
    model_version: int
    confidence: str
    faces: list = field(default_factory=list)  # the two faces: Face rows or IdentifiedFace-like crops


def library_face(*, owner, face_id) -> Face:
    """The owner's face, or QueryError(404). Another user's id looks exactly like a missing one."""
    try:
        face_id = int(face_id)
    except (TypeError, ValueError):
        raise QueryError("A face id must be a number.") from None
    face = Face.objects.filter(owner=owner, pk=face_id).select_related("photo", "person", "embedding_model").first()
    if face is None:
        raise QueryError(f"No face with id {face_id}.", status=404)
    return face


def _faces_in_upload(upload: BinaryIO, model: EmbeddingModel) -> list[FaceRecord]:
    try:
        inspect_image(upload, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS)
        image = decode_image(upload, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS, max_side=settings.VISAGE_DECODE_MAX_SIDE)
    except (UploadRejected, ImageDecodeError) as exc:
        raise QueryError(f"That file can't be used: {exc}.") from exc
    return face_pipeline_for(model).process_decoded([image])[0]


def photo_identify(*, owner, upload: BinaryIO) -> list[IdentifiedFace]:
    """Every face in an uploaded photo with its nearest library faces and a guess."""
    model = embedding_model_active()
    records = _faces_in_upload(upload, model)
    if not records:
        raise QueryError("No face was found in that photo. Try a sharper or closer photo.", status=422)
    return [
        IdentifiedFace(
            box=tuple(round(v, 1) for v in record.box),
            crop_jpeg=jpeg_bytes(record.shown, quality=88),
            matches=embedding_similar(owner=owner, model=model, embedding=record.embedding, limit=MATCHES_PER_FACE),
            guess=person_guess(owner=owner, model=model, embedding=record.embedding),
        )
        for record in records
    ]


def plain_confidence(distance: float, threshold: float) -> str:
    """Words for how far the distance is from the decision threshold."""
    ratio = distance / threshold
    if ratio < 0.6:
        return "Very likely the same person"
    if ratio < 1.0:
        return "Probably the same person"
    if ratio < 1.5:
        return "Probably different people"
    return "Very likely different people"


def faces_verify(*, owner, first: int | str | BinaryIO, second: int | str | BinaryIO) -> Verification:
    """Same person? Each side is a library face id or an uploaded photo (its largest face).

    Uploaded photos are embedded with the model of the library face they are compared
    with, so two embeddings of different model versions are never compared."""
    sides = [first, second]
    library = [library_face(owner=owner, face_id=s) if isinstance(s, (int, str)) else None for s in sides]
    models = {face.embedding_model_id for face in library if face is not None}
    if len(models) > 1:
        raise QueryError("These two faces were embedded by different model versions and can't be compared yet.")
    model = next((face.embedding_model for face in library if face is not None), None) or embedding_model_active()
    embeddings, shown = [], []
    for side, face in zip(sides, library):
        if face is not None:
            embeddings.append(np.asarray(face.embedding, dtype=np.float32))
            shown.append(face)
            continue
        records = _faces_in_upload(side, model)
        if not records:
            raise QueryError("No face was found in one of the photos.", status=422)
        record = largest_face(records)
        embeddings.append(record.embedding)
        shown.append(jpeg_bytes(record.shown, quality=88))
    distance = float(max(0.0, 1.0 - float(embeddings[0] @ embeddings[1])))
    threshold = model.same_person_threshold
    return Verification(
        distance=distance,
        same=distance <= threshold,
        threshold=threshold,
        model_version=model.version,
        confidence=plain_confidence(distance, threshold),
        faces=shown,
    )

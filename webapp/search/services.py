"""Answering "who is this?" and "same person?" for faces in the library or in a photo
that is NOT added to it (the upload lives only for the request)."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from django.conf import settings

from ml.evaluation.calibration import Calibration
from ml.faces.boxes import largest_face
from ml.faces.imageio import ImageDecodeError, decode_image
from ml.faces.pipeline import FaceRecord
from webapp.faces.calibration import CERTAIN_FAR, SAME_PERSON_FAR, model_calibration, one_in, percent_text
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


def jpeg_data_uri(jpeg: bytes) -> str:
    """A crop of a photo that is not stored, inlined in the page that shows it."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


@dataclass
class IdentifiedFace:
    box: tuple[float, float, float, float]
    crop_jpeg: bytes
    matches: list[SimilarFace]
    guess: PersonGuess

    @property
    def crop_data_uri(self) -> str:
        return jpeg_data_uri(self.crop_jpeg)


@dataclass(frozen=True)
class PhotoFace:
    """A face found in a photo that is not added to the library, embedded with one version."""

    embedding: np.ndarray  # (D,) float32, unit norm
    crop_jpeg: bytes
    box: tuple[float, float, float, float]
    model_id: int
    index: int  # its place among the photo's faces, left to right from 0
    faces_in_photo: int

    @property
    def crop_data_uri(self) -> str:
        return jpeg_data_uri(self.crop_jpeg)


@dataclass(frozen=True)
class PhotoUpload:
    """One side of "same person?" as an uploaded photo: its face ``index`` (left to
    right from 0), or without one its largest face, the person a snapshot is of."""

    file: BinaryIO
    index: int | None = None


@dataclass(frozen=True)
class Verdict:
    words: str  # the answer: "Same person", "Different people", ...
    detail: str  # what it stands for, in the calibration's numbers
    same: bool  # at most SAME_PERSON_FAR of different-person pairs are this close


@dataclass
class Verification:
    distance: float
    probability: float  # P(same person) for two faces a priori as likely one person as two
    false_accept_rate: float  # share of different-person pairs at least this close
    verdict: Verdict
    same_person_distance: float
    model_version: int
    faces: list = field(default_factory=list)  # the two faces compared: Face rows or PhotoFaces

    @property
    def probability_percent(self) -> str:
        return percent_text(self.probability)


def verdict(distance: float, calibration: Calibration) -> Verdict:
    """Words for a distance, and the false-accept rate they stand for."""
    far, probability = calibration.far_at(distance), calibration.probability(distance)
    if far <= calibration.min_far:
        rate = f"fewer than {one_in(calibration.min_far)} pairs of different people measured were this similar"
    else:
        rate = f"about {one_in(far)} pairs of different people are this similar"
    if far <= CERTAIN_FAR:
        return Verdict("Same person", f"Almost certainly one person: {rate}.", True)
    if far <= SAME_PERSON_FAR:
        return Verdict("Very likely the same person", f"Very likely one person: {rate}.", True)
    if probability >= 0.5:
        return Verdict("Possibly the same person", f"Not sure: {rate}, too many to call it the same person.", False)
    return Verdict("Different people", f"Most likely two people: {rate}.", False)


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
    """The photo's faces left to right: the order pages show them in and API indices count."""
    try:
        inspect_image(upload, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS)
        image = decode_image(upload, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS, max_side=settings.VISAGE_DECODE_MAX_SIDE)
    except (UploadRejected, ImageDecodeError) as exc:
        raise QueryError(f"That file can't be used: {exc}.") from exc
    return sorted(face_pipeline_for(model).process_decoded([image])[0], key=lambda record: (record.box[0], record.box[1]))


def photo_faces(*, upload: BinaryIO, model: EmbeddingModel) -> list[PhotoFace]:
    """Every face of an uploaded photo, left to right, embedded with ``model``."""
    records = _faces_in_upload(upload, model)
    if not records:
        raise QueryError("No face was found in that photo. Try a sharper or closer photo.", status=422)
    return [
        PhotoFace(record.embedding, jpeg_bytes(record.shown, quality=88), tuple(round(v, 1) for v in record.box),
                  model.pk, index, len(records))
        for index, record in enumerate(records)
    ]


def photo_face_pick(faces: list[PhotoFace], index: int | None) -> PhotoFace:
    if index is None:
        return largest_face(faces)
    if not 0 <= index < len(faces):
        raise QueryError(f"That photo has {len(faces)} face(s): give an index from 0 to {len(faces) - 1}, left to right.")
    return faces[index]


def photo_identify(*, owner, upload: BinaryIO) -> list[IdentifiedFace]:
    """Every face in an uploaded photo, left to right, with its nearest library faces and a guess."""
    model = embedding_model_active()
    return [
        IdentifiedFace(
            box=face.box,
            crop_jpeg=face.crop_jpeg,
            matches=embedding_similar(owner=owner, model=model, embedding=face.embedding, limit=MATCHES_PER_FACE),
            guess=person_guess(owner=owner, model=model, embedding=face.embedding),
        )
        for face in photo_faces(upload=upload, model=model)
    ]


Side = int | str | PhotoFace | PhotoUpload


def side_model(*, owner, side: Side | Face | None) -> EmbeddingModel:
    """The version a photo is embedded with to be compared with ``side``: the version of
    that library face or photo face, else the active one. Embeddings of two versions are
    never compared."""
    if isinstance(side, (int, str)):
        side = library_face(owner=owner, face_id=side)
    if isinstance(side, Face):
        return side.embedding_model
    if isinstance(side, PhotoFace):
        model = EmbeddingModel.objects.filter(pk=side.model_id).first()
        if model is None:
            raise QueryError("That photo was read by a model version that is gone: choose the photo again.")
        return model
    return embedding_model_active()


def faces_verify(*, owner, first: Side, second: Side) -> Verification:
    """Same person? Each side is a library face id, a face already found in a photo, or an
    uploaded photo (its face ``index``, or its largest face).

    Uploaded photos are embedded with the model of the face they are compared with, so
    two embeddings of different model versions are never compared."""
    known = [library_face(owner=owner, face_id=s) if isinstance(s, (int, str)) else s for s in (first, second)]
    embedded = [face for face in known if not isinstance(face, PhotoUpload)]
    if len({face.embedding_model_id if isinstance(face, Face) else face.model_id for face in embedded}) > 1:
        raise QueryError("These two faces were embedded by different model versions and can't be compared yet.")
    model = side_model(owner=owner, side=embedded[0] if embedded else None)
    shown = []
    for letter, face in zip("AB", known):
        if isinstance(face, PhotoUpload):
            try:
                face = photo_face_pick(photo_faces(upload=face.file, model=model), face.index)
            except QueryError as exc:
                raise QueryError(f"Photo {letter}: {exc}", status=exc.status) from exc
        shown.append(face)
    embeddings = [np.asarray(face.embedding, dtype=np.float32) for face in shown]
    distance = float(max(0.0, 1.0 - float(embeddings[0] @ embeddings[1])))
    calibration = model_calibration(model)
    return Verification(
        distance=distance,
        probability=calibration.probability(distance),
        false_accept_rate=calibration.far_at(distance),
        verdict=verdict(distance, calibration),
        same_person_distance=calibration.threshold_at_far(SAME_PERSON_FAR),
        model_version=model.version,
        faces=shown,
    )

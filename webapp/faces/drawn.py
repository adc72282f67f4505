"""The user's word on faces, at the faces level: a face drawn by hand, and a face dismissed
as not a face (and put back). The people app records both in its operation log."""
from __future__ import annotations

import base64
import math

from django.conf import settings
from django.db import models, transaction
from django.utils.dateparse import parse_datetime

from ml.faces.boxes import box_iou
from ml.faces.imageio import ImageDecodeError
from webapp.faces.crops import face_crops_for, photo_decode
from webapp.faces.models import DismissedFace, EmbeddingModel, Face, FaceEmbedding, NetworkCrop
from webapp.faces.runtime import face_pipeline_for
from webapp.faces.selectors import embedding_model_active
from webapp.faces.services import SAME_FACE_IOU, ActiveModelChanged, active_model_lock, face_from_record
from webapp.photos.models import Photo


class DrawError(ValueError):
    """A box that can't become a face; the message is shown to the user."""


def drawn_box(photo: Photo, box) -> tuple[float, float, float, float]:
    """The box as four floats in the photo's full-resolution pixels, or DrawError."""
    if photo.status != Photo.Status.DONE or not photo.width or not photo.height:
        raise DrawError("Faces can be added once the photo is processed.")
    try:
        x0, y0, x1, y1 = (float(v) for v in box)
    except (TypeError, ValueError):
        raise DrawError("A box is four numbers: left, top, right, bottom in pixels of the photo.") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x0 >= x1 or y0 >= y1:
        raise DrawError("A box is four numbers: left, top, right, bottom in pixels of the photo.")
    if x0 < -1 or y0 < -1 or x1 > photo.width + 1 or y1 > photo.height + 1:  # a pixel of rounding is the edge
        raise DrawError(f"The box must lie on the photo ({photo.width}×{photo.height} pixels).")
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(photo.width), x1), min(float(photo.height), y1)
    smallest = settings.VISAGE_DETECT_MIN_FACE_PX
    if min(x1 - x0, y1 - y0) < smallest:
        raise DrawError(f"That box is too small for a face: draw one at least {smallest} pixels of the photo on each side.")
    return (x0, y0, x1, y1)


def face_draw(*, photo: Photo, box) -> Face:
    """Store the face the user drew ``box`` round: aligned on the landmarks the detector
    finds there (else estimated from the box), embedded with the active version and
    marked as drawn, so that re-processing the photo keeps it. A box over a face the
    photo already has is refused: that face is there to be named."""
    box = drawn_box(photo, box)
    model = embedding_model_active()
    try:
        image = photo_decode(photo)
    except ImageDecodeError as exc:
        raise DrawError(f"The photo can't be read: {exc}.") from exc
    face, network = face_from_record(photo, model, face_pipeline_for(model).face_in_box(image, box), source=Face.Source.DRAWN)
    with transaction.atomic():
        try:
            active_model_lock(model)
        except ActiveModelChanged as exc:
            raise DrawError("The face model changed meanwhile: draw the box again.") from exc
        Photo.objects.select_for_update().filter(pk=photo.pk).values_list("pk").first()
        others = Face.objects.filter(photo=photo).only("box_x0", "box_y0", "box_x1", "box_y1")
        if any(box_iou(box, other.box) >= SAME_FACE_IOU for other in others):
            raise DrawError("There is a face there already: name it in the list of faces below the photo.")
        face.save()
        if network is not None:
            NetworkCrop.objects.create(face=face, jpeg=network)
    return face


def face_dismiss(face: Face) -> DismissedFace:
    """Not a face: delete the row, so nothing anywhere can show it, and keep its box (re-
    processing never stores a face there again) and everything in it for face_restore.
    Rows of other apps that point at the face (its rejections) are the caller's to record."""
    with transaction.atomic():
        dismissed = DismissedFace.objects.create(
            photo_id=face.photo_id, owner_id=face.owner_id, face_id=face.pk,
            box_x0=face.box_x0, box_y0=face.box_y0, box_x1=face.box_x1, box_y1=face.box_y1, row=_face_row(face),
        )
        face.delete()
    return dismissed


def face_restore(*, face_id: int) -> Face | None:
    """Put a dismissed face back exactly as it was, under its id; None when it is no longer
    dismissed or its photo is gone. A person it pointed at that no longer exists is left
    out, and a face dismissed before a switch of model versions comes back switched too."""
    dismissed = DismissedFace.objects.filter(face_id=face_id).first()
    if dismissed is None:
        return None
    row = dismissed.row
    values = {}
    for field in Face._meta.concrete_fields:
        value = row["face"][field.attname]
        if isinstance(field, models.BinaryField):
            value = base64.b64decode(value)
        elif isinstance(field, models.DateTimeField):
            value = parse_datetime(value)
        values[field.attname] = value
    with transaction.atomic():
        face = Face(**values)
        # The person model is the people app's, above this one: reached through the field.
        people = Face.person.field.related_model
        if face.person_id is not None and not people.objects.filter(pk=face.person_id).exists():
            face.person_id, face.person_state, face.person_confidence = None, Face.PersonState.NONE, None
        face.save(force_insert=True)
        Face.objects.filter(pk=face.pk).update(created_at=values["created_at"])  # auto_now_add set it to now
        if row["network_crop"] is not None:
            NetworkCrop.objects.create(face=face, jpeg=base64.b64decode(row["network_crop"]))
        # A candidate version discarded meanwhile took its staged vectors with it.
        versions = set(EmbeddingModel.objects.values_list("pk", flat=True))
        FaceEmbedding.objects.bulk_create([FaceEmbedding(face=face, embedding_model_id=model_id, embedding=vector)
                                           for model_id, vector in row["other_embeddings"] if model_id in versions])
        dismissed.delete()
        _switch_to_active(face)
    return face


def _switch_to_active(face: Face) -> None:
    """What a switch of versions did to every face while this one was away: its vector of
    the active version becomes Face.embedding (made now unless one was kept), and the one
    it had is archived in FaceEmbedding, as the switch archives them."""
    active = embedding_model_active()
    if face.embedding_model_id == active.pk:
        return
    kept = FaceEmbedding.objects.filter(face=face, embedding_model=active).first()
    if kept is not None:
        vector = kept.embedding
        kept.delete()
    else:
        embedder = face_pipeline_for(active).embedder
        vector = embedder.embed(face_crops_for([face], embedder))[0]
    FaceEmbedding.objects.update_or_create(
        face=face, embedding_model_id=face.embedding_model_id, defaults={"embedding": face.embedding})
    Face.objects.filter(pk=face.pk).update(embedding=vector, embedding_model=active)


def _face_row(face: Face) -> dict:
    """Everything face_restore needs to make the row again, as JSON: every column (binary
    as base64, times as ISO 8601, vectors as lists of floats, which hold float32 exactly)."""
    columns = {}
    for field in Face._meta.concrete_fields:
        value = getattr(face, field.attname)
        if isinstance(field, models.BinaryField):
            value = base64.b64encode(bytes(value)).decode()
        elif isinstance(field, models.DateTimeField):
            value = value.isoformat()
        elif field.attname == "embedding":
            value = [float(v) for v in value]
        columns[field.attname] = value
    crop = NetworkCrop.objects.filter(face=face).values_list("jpeg", flat=True).first()
    return {
        "face": columns,
        "network_crop": base64.b64encode(bytes(crop)).decode() if crop is not None else None,
        "other_embeddings": [
            [model_id, [float(v) for v in vector]]
            for model_id, vector in FaceEmbedding.objects.filter(face=face).values_list("embedding_model_id", "embedding")
        ],
    }

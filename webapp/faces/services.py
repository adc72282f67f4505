"""Writes for faces: turning queued photos into Face rows."""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from ml.faces.boxes import box_iou
from ml.faces.imageio import DecodedImage, ImageDecodeError
from ml.faces.pipeline import FaceRecord
from ml.faces.quality import face_quality
from webapp.faces.crops import photo_decode
from webapp.faces.keptnames import names_carry, names_keep
from webapp.faces.models import DismissedFace, EmbeddingModel, Face, NetworkCrop
from webapp.faces.runtime import face_pipeline_for
from webapp.faces.selectors import embedding_model_active
from webapp.photos.models import Photo
from webapp.photos.thumbnails import PHOTO_THUMB_SIDE, jpeg_bytes

logger = logging.getLogger(__name__)


@dataclass
class ProcessSummary:
    done: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)
    faces: int = 0
    face_ids: list[int] = field(default_factory=list)

    def absorb(self, other: "ProcessSummary") -> None:
        self.done += other.done
        self.failed.update(other.failed)
        self.skipped += other.skipped
        self.faces += other.faces
        self.face_ids += other.face_ids

    def as_dict(self) -> dict:
        """The task result: counts and photo ids (face ids stay out of the broker's logs)."""
        result = asdict(self)
        del result["face_ids"]
        return result


def photo_process(*, photo_ids: list[int], force: bool = False) -> ProcessSummary:
    """Detect, align and embed the faces of these photos with the active model.

    Idempotent: a photo already done with the active model is skipped unless ``force``,
    and re-processing replaces that model version's faces instead of adding to them.
    Each photo's faces, thumbnail and status are committed together in one transaction.
    """
    model = embedding_model_active()
    summary = ProcessSummary()
    photos = list(Photo.objects.filter(pk__in=photo_ids).defer("thumbnail").order_by("pk"))
    summary.skipped = sorted(set(photo_ids) - {p.pk for p in photos})  # deleted meanwhile
    todo: list[Photo] = []
    for photo in photos:
        already_done = photo.status == Photo.Status.DONE and photo.faces.filter(embedding_model=model).exists()
        if already_done and not force:
            summary.skipped.append(photo.pk)
        else:
            todo.append(photo)

    if not todo:
        return summary
    pipeline = face_pipeline_for(model)
    decoded: list[tuple[Photo, DecodedImage]] = []
    for photo in todo:
        try:
            decoded.append((photo, pipeline.decode_timed(photo_decode, photo)))
        except ImageDecodeError as exc:
            _mark_failed(photo, str(exc))
            summary.failed[photo.pk] = str(exc)

    if decoded:
        results = pipeline.process_decoded([image for _, image in decoded])
        for position, ((photo, image), records) in enumerate(zip(decoded, results)):
            try:
                stored = _store_faces(photo, image, records, model)
            except ActiveModelChanged:
                # A switch of versions committed while these faces were embedded: storing
                # them would mix versions. The rest of the batch starts over with the new one.
                summary.absorb(photo_process(photo_ids=[p.pk for p, _ in decoded[position:]], force=force))
                break
            summary.face_ids += stored
            summary.done.append(photo.pk)
            summary.faces += len(stored)
    return summary


class ActiveModelChanged(RuntimeError):
    pass


def active_model_lock(model: EmbeddingModel) -> None:
    """Share-lock the model row for the rest of the transaction and check it is still the
    active one. A switch updates this row first, so it waits for stores in progress, and
    stores that come after it see the new version and start over."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT is_active FROM {EmbeddingModel._meta.db_table} WHERE id = %s FOR SHARE", [model.pk])
        row = cursor.fetchone()
    if row is None or not row[0]:
        raise ActiveModelChanged(f"model v{model.version} is no longer the active one")


def new_faces_by_owner(summary: ProcessSummary) -> dict[int, list[int]]:
    by_owner: dict[int, list[int]] = {}
    for face_id, owner_id in Face.objects.filter(pk__in=summary.face_ids).values_list("pk", "owner_id"):
        by_owner.setdefault(owner_id, []).append(face_id)
    return by_owner


def _mark_failed(photo: Photo, message: str) -> None:
    with transaction.atomic():
        # A file unreadable now (a library's disk away, a file replaced mid-scan) may read
        # again later: its names wait for the faces found then. The faces the user drew
        # stay: an unreadable file takes nothing they did.
        names_keep(photo=photo)
        Face.objects.filter(photo=photo, source=Face.Source.DETECTED).delete()
        Photo.objects.filter(pk=photo.pk).update(
            status=Photo.Status.FAILED, error=message, processed_at=timezone.now()
        )


# Boxes this much alike are one face: a detection there is the face the user drew or
# dismissed, found again. Re-detecting a photo gives the same boxes (other detector
# settings move them a little), a loosely drawn box overlaps less, and the faces of two
# people side by side hardly at all.
SAME_FACE_IOU = 0.4


def face_from_record(photo: Photo, model: EmbeddingModel, record: FaceRecord, *, source: str = Face.Source.DETECTED):
    """An unsaved Face of this record, and the JPEG of the crop its network saw when that
    differs from the thumbnail (a face cut by the photo's edge; see NetworkCrop), else None."""
    face = Face(
        photo=photo,
        owner_id=photo.owner_id,
        embedding_model=model,
        box_x0=float(record.box[0]),
        box_y0=float(record.box[1]),
        box_x1=float(record.box[2]),
        box_y1=float(record.box[3]),
        landmarks=[[round(float(x), 2), round(float(y), 2)] for x, y in record.landmarks],
        detection_score=float(record.score),
        # A face the user drew is a face by their word, whatever the detector made of it
        # (its score is 0 where it found nothing there): only sharpness, size and pose count.
        quality=face_quality(record.shown, record.box, record.landmarks,
                             1.0 if source == Face.Source.DRAWN else record.score),
        embedding=record.embedding,
        thumbnail=jpeg_bytes(record.shown, quality=88),
        source=source,
    )
    network = None if np.array_equal(record.aligned, record.shown) else jpeg_bytes(record.aligned, quality=88)
    return face, network


def boxes_taken(photo: Photo) -> list[tuple[float, float, float, float]]:
    """Where the user has had the last word on this photo: the faces they drew and the
    boxes they said are not faces. Detections there are never stored."""
    drawn = Face.objects.filter(photo=photo, source=Face.Source.DRAWN).only("box_x0", "box_y0", "box_x1", "box_y1")
    return [face.box for face in drawn] + [dismissed.box for dismissed in DismissedFace.objects.filter(photo=photo)]


def _store_faces(photo: Photo, image: DecodedImage, records: list[FaceRecord], model: EmbeddingModel) -> list[int]:
    rows = [face_from_record(photo, model, r) for r in records]
    taken_at = image.taken_at
    if taken_at is not None and timezone.is_naive(taken_at):
        taken_at = timezone.make_aware(taken_at, timezone.get_current_timezone())
    with transaction.atomic():
        active_model_lock(model)
        # Two deliveries of one photo (a redelivered task, the reconciler) store in turn:
        # the second replaces the first's faces instead of adding to them.
        Photo.objects.select_for_update().filter(pk=photo.pk).values_list("pk").first()
        taken = boxes_taken(photo)
        rows = [(face, jpeg) for face, jpeg in rows if all(box_iou(face.box, box) < SAME_FACE_IOU for box in taken)]
        faces = [face for face, _ in rows]
        # A face found again where a named one was keeps its person (a changed library
        # file, a file that came back, a forced re-run).
        names_carry(photo=photo, model=model, faces=faces)
        Face.objects.filter(photo=photo, embedding_model=model, source=Face.Source.DETECTED).delete()
        Face.objects.bulk_create(faces)
        NetworkCrop.objects.bulk_create([NetworkCrop(face=face, jpeg=jpeg) for face, jpeg in rows if jpeg is not None])
        Photo.objects.filter(pk=photo.pk).update(
            status=Photo.Status.DONE,
            error="",
            width=image.original_width,
            height=image.original_height,
            taken_at=taken_at,
            thumbnail=jpeg_bytes(image.pixels, max_side=PHOTO_THUMB_SIDE),
            processed_at=timezone.now(),
        )
    return [face.pk for face, _ in rows]

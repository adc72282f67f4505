"""Names a photo already carries in standard metadata (MWG regions, Microsoft People Tags;
read by webapp/photos/face_regions.py) put onto its detected faces: each named region goes
to the face it overlaps most, which becomes a confirmed face of the user's person of that
name. One operation in the log (one undo) per photo that changed; a face the user
confirmed or took out of a person keeps the user's word."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from ml.faces.boxes import boxes_match
from webapp.faces.models import Face
from webapp.faces.services import SAME_FACE_IOU
from webapp.people.models import FaceRejection
from webapp.people.naming import name_key
from webapp.people.oplog import recorded_operation
from webapp.people.propagation import names_propagate_near
from webapp.people.services import EditError, assign_confirmed, clean_name, delete_empty, person_named
from webapp.photos.face_regions import RefusedRegion, RegionsRead, regions_read
from webapp.photos.models import Photo, RegionImport
from webapp.photos.originals import photo_open, photo_sidecars

logger = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    photos: int = 0
    matched: int = 0
    named: int = 0  # faces that got a name (the rest of ``matched`` had it already)
    unmatched: int = 0
    refused: int = 0
    failed: dict[int, str] = field(default_factory=dict)


def photo_regions_read(photo: Photo) -> RegionsRead:
    """The named regions of the photo's original and, for a library photo, its sidecars."""
    with photo_open(photo) as handle:
        image = handle.read()
    return regions_read(image, photo_sidecars(photo))


def photo_regions_import(*, photo: Photo, found: RegionsRead | None = None) -> RegionImport:
    """Read (unless given) the photo's named regions and put them onto its faces; the
    outcome is kept per photo (RegionImport). Idempotent: a second run finds the names
    on their faces already and changes nothing."""
    found = photo_regions_read(photo) if found is None else found
    refused = [r.as_dict() for r in found.refused]
    width, height = photo.width or 0, photo.height or 0
    # Most photos carry no regions: then their faces need not be read (a query per photo
    # in the worker's path).
    faces = list(Face.objects.filter(photo=photo).select_related("person").defer("embedding", "thumbnail")) if found.regions else []
    boxes = [(r.box[0] * width, r.box[1] * height, r.box[2] * width, r.box[3] * height) for r in found.regions]
    pairs = dict(boxes_match(boxes, [f.box for f in faces], SAME_FACE_IOU))
    unmatched = [r.name for i, r in enumerate(found.regions) if i not in pairs]
    wanted: dict[str, list[Face]] = {}  # name key -> faces to confirm under that name
    names: dict[str, str] = {}
    matched = 0
    rejected = _rejections(faces)
    for index, face_index in sorted(pairs.items()):  # in the order of the file
        region, face = found.regions[index], faces[face_index]
        try:
            name = clean_name(region.name)
        except EditError as exc:
            refused.append(RefusedRegion(region.name[:80], str(exc), region.origin).as_dict())
            continue
        key = name_key(name)
        if face.person_state == Face.PersonState.CONFIRMED:
            if face.person and face.person.name_key == key:
                matched += 1
            else:  # the user's word stands
                refused.append(RefusedRegion(name, f"that face is confirmed as {face.person or 'no one'} in Visage", region.origin).as_dict())
            continue
        if key in rejected.get(face.pk, ()):
            refused.append(RefusedRegion(name, f"that face was taken out of {name} in Visage", region.origin).as_dict())
            continue
        matched += 1
        names.setdefault(key, name)
        wanted.setdefault(key, []).append(face)
    named = sum(len(group) for group in wanted.values())
    if wanted:
        with recorded_operation(owner=photo.owner, kind="metadata",
                                summary=f"Names from the metadata of {photo.original_name}: {', '.join(names.values())}") as op:
            changed = [f for group in wanted.values() for f in group]
            op.touch_faces([f.pk for f in changed])
            previous = {f.person_id for f in changed if f.person_id}
            for key, group in wanted.items():
                assign_confirmed(op, group, person_named(op, photo.owner, names[key]))
            # Names spread from here like a name typed on the page.
            names_propagate_near(owner=photo.owner, recorder=op, moved=[f.pk for f in changed])
            delete_empty(op, previous)
    report, _ = RegionImport.objects.update_or_create(
        photo=photo, defaults={"matched": matched, "unmatched": unmatched, "refused": refused})
    report.named = named
    return report


def _rejections(faces: list[Face]) -> dict[int, set[str]]:
    """The name keys each face was taken out of ("not this person")."""
    rows = FaceRejection.objects.filter(face_id__in=[f.pk for f in faces]).values_list("face_id", "person__name")
    found: dict[int, set[str]] = {}
    for face_id, name in rows:
        if name:
            found.setdefault(face_id, set()).add(name_key(name))
    return found


def photos_regions_import(photos: Iterable[Photo]) -> ImportSummary:
    """Import the regions of each photo; a photo that cannot be read is reported, never
    stops the others (nor the processing that called this)."""
    summary = ImportSummary()
    for photo in photos:
        try:
            report = photo_regions_import(photo=photo)
        except Exception as exc:  # a region import must never fail a photo's processing
            logger.exception("reading the face regions of photo %s failed", photo.pk)
            summary.failed[photo.pk] = str(exc) or exc.__class__.__name__
            continue
        summary.photos += 1
        summary.matched += report.matched
        summary.named += report.named
        summary.unmatched += len(report.unmatched)
        summary.refused += len(report.refused)
    return summary


def regions_import_after_processing(*, photo_ids: list[int], **_signal) -> None:
    """Receiver of faces.signals.photos_processed (connected in PeopleConfig.ready)."""
    photos_regions_import(Photo.objects.filter(pk__in=photo_ids, status=Photo.Status.DONE).select_related("library", "owner"))


def regions_import_for(*, owner, photos) -> ImportSummary:
    """The management command's: re-read the regions of these photos of ``owner``."""
    return photos_regions_import(photos.filter(owner=owner, status=Photo.Status.DONE).select_related("library", "owner"))

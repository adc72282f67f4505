"""The names confirmed in Visage given back as standard metadata (MWG face regions, written
by webapp/photos/face_regions.py): an XMP sidecar to download, a JPEG copy with the
regions embedded, or, where the administrator allows it (VISAGE_LIBRARY_WRITE_SIDECARS),
a sidecar written next to a library photo's file. An original is never written."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from webapp.faces.models import Face
from webapp.faces.services import SAME_FACE_IOU
from webapp.photos.face_regions import Box, frame_of, jpeg_with_regions, sidecar_with_regions
from webapp.photos.models import Album, Photo
from webapp.photos.originals import photo_open, sidecar_target


class ExportError(ValueError):
    """An export that cannot be made; the message is shown to the user."""


NOT_ALLOWED = "This server does not allow writing into library folders (VISAGE_LIBRARY_WRITE_SIDECARS)."


def photo_regions_export(*, photo: Photo) -> list[tuple[str, Box]]:
    """(name, box as fractions of the shown photo) of the photo's confirmed faces of named
    people, left to right: what an export writes."""
    if not (photo.width and photo.height):
        return []
    faces = (Face.objects.filter(photo=photo, person_state=Face.PersonState.CONFIRMED, person__isnull=False)
             .exclude(person__name="").select_related("person").order_by("box_x0")
             .only("box_x0", "box_y0", "box_x1", "box_y1", "person__name"))
    w, h = photo.width, photo.height
    return [(f.person.name, (f.box_x0 / w, f.box_y0 / h, f.box_x1 / w, f.box_y1 / h)) for f in faces]


def faces_seen(photo: Photo) -> list[Box]:
    """Every face Visage has on the photo, named or not, as fractions of the shown photo:
    the regions an export speaks for (the import matches a region to a face by the same
    overlap, SAME_FACE_IOU). A region elsewhere is kept as the other program wrote it."""
    if not (photo.width and photo.height):
        return []
    w, h = photo.width, photo.height
    return [(x0 / w, y0 / h, x1 / w, y1 / h)
            for x0, y0, x1, y1 in Face.objects.filter(photo=photo).values_list("box_x0", "box_y0", "box_x1", "box_y1")]


def _original(photo: Photo) -> bytes:
    try:
        with photo_open(photo) as handle:
            return handle.read()
    except (FileNotFoundError, PermissionError) as exc:
        raise ExportError("The photo's file is missing or cannot be read.") from exc


def _existing_sidecar(photo: Photo) -> bytes | None:
    if photo.library_id is None:
        return None
    path = sidecar_target(photo)
    return path.read_bytes() if path.is_file() else None


def photo_sidecar_bytes(*, photo: Photo) -> bytes:
    """The photo's XMP sidecar with its confirmed names as MWG regions (a library photo's
    own sidecar, if it has one, with only its regions replaced)."""
    return sidecar_with_regions(photo_regions_export(photo=photo), frame_of(_original(photo)), _existing_sidecar(photo),
                                seen=faces_seen(photo), same_face_iou=SAME_FACE_IOU)


def photo_jpeg_with_names(*, photo: Photo) -> bytes:
    """A copy of the photo (a JPEG) with its confirmed names embedded as MWG regions."""
    if photo.image_format.lower() not in ("jpeg", "jpg"):
        raise ExportError("Only a JPEG can be downloaded with the names inside; download the XMP sidecar instead.")
    return jpeg_with_regions(_original(photo), photo_regions_export(photo=photo), seen=faces_seen(photo),
                             same_face_iou=SAME_FACE_IOU)



def photo_sidecar_write(*, photo: Photo) -> Path:
    """Write the photo's names into its sidecar next to its library file, atomically (a
    temporary file in the same folder, then renamed over): the photo's file is not opened
    for writing, and a reader never sees half a sidecar."""
    if photo.library_id is None:
        raise ExportError("Only a photo of a library has a folder to write a sidecar into; download it instead.")
    if not settings.VISAGE_LIBRARY_WRITE_SIDECARS:
        raise ExportError(NOT_ALLOWED)
    content = photo_sidecar_bytes(photo=photo)
    target = sidecar_target(photo)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    except OSError as exc:
        raise ExportError(f"The sidecar cannot be written: {exc.strerror or exc}") from exc
    return target


@dataclass
class ExportSummary:
    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def album_names_export(*, album: Album, out_dir: Path | None = None) -> ExportSummary:
    """Export the names of every processed photo of an album: a library's sidecars next to
    its files (where allowed), else ``<original name>.xmp`` files in ``out_dir``. Photos of
    a library are all written, named or not, so a name removed in Visage leaves the
    sidecar too."""
    library = getattr(album, "library", None)
    if library is None and out_dir is None:
        raise ExportError("An album of uploads has no folder of its own: give a folder to write the sidecars into.")
    if library is not None and out_dir is None and not settings.VISAGE_LIBRARY_WRITE_SIDECARS:
        raise ExportError(NOT_ALLOWED)
    summary = ExportSummary()
    photos = Photo.objects.filter(album=album, status=Photo.Status.DONE, missing=False).select_related("library").order_by("pk")
    for photo in photos:
        try:
            if library is not None and out_dir is None:
                summary.written.append(str(photo_sidecar_write(photo=photo)))
            else:
                # A library's tree as it is, an upload by its own name only (no folder of the sender's).
                target = Path(out_dir) / f"{photo.relative_path or Path(photo.original_name).name}.xmp"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(photo_sidecar_bytes(photo=photo))
                summary.written.append(str(target))
        except ExportError as exc:
            summary.failed[photo.relative_path or photo.original_name] = str(exc)
    return summary

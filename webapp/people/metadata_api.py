"""The API's face-metadata endpoints (docs/face-metadata.md): the names of a photo as MWG
regions to download, a library sidecar written where the administrator allows it, an
album's names exported, and a photo's regions read again. The same services as the photo
page's and the library album's buttons (metadata_views.py); an ExportError is answered
400 by webapp/api.py."""
from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest
from ninja import Field, Router, Schema

from webapp.core.apikit import ERRORS, ApiError, not_found, responses
from webapp.people.metadata_export import (
    album_names_export, photo_jpeg_with_names, photo_regions_export, photo_sidecar_bytes, photo_sidecar_write,
)
from webapp.people.metadata_import import photo_regions_import
from webapp.people.metadata_views import attachment
from webapp.photos.models import Photo
from webapp.photos.selectors import album_for_owner, photo_for_owner

router = Router(tags=["face metadata"])


class RegionOut(Schema):
    name: str
    box: list[float] = Field(description="x0, y0, x1, y1 as fractions of the photo as shown")


class RefusedOut(Schema):
    name: str
    reason: str
    origin: str = Field(description="where the region was read: the photo or a sidecar's file name")


class RegionsOut(Schema):
    exported: list[RegionOut] = Field(description="what an export writes: the confirmed faces of named people")
    matched: int | None = Field(description="named regions of the last reading that went onto a face; null if never read")
    unmatched: list[str] = Field(description="names of the last reading whose region found no face")
    refused: list[RefusedOut] = Field(description="regions of the last reading not used, and why")


class WrittenOut(Schema):
    written: str = Field(description="the sidecar's file name, next to the photo's file")


class ExportOut(Schema):
    written: int
    failed: dict[str, str] = Field(description="file -> why its sidecar could not be written")


def _photo(request, photo_id: int) -> Photo:
    photo = photo_for_owner(owner=request.user, photo_id=photo_id)
    if photo is None:
        raise not_found("photo", photo_id)
    return photo


def _regions_out(photo: Photo, report) -> dict:
    return {
        "exported": [{"name": name, "box": [round(v, 5) for v in box]} for name, box in photo_regions_export(photo=photo)],
        "matched": report.matched if report else None,
        "unmatched": report.unmatched if report else [],
        "refused": report.refused if report else [],
    }


def _file_answer(content_type: str, what: str) -> dict:
    """``openapi_extra`` of an endpoint that answers a file, not JSON."""
    return {"responses": {200: {"description": what, "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}}}


@router.get("/photos/{photo_id}/regions", response=responses(RegionsOut), url_name="photo-regions")
def photo_regions(request: HttpRequest, photo_id: int):
    """The face regions of a photo: the names an export would write, and what the last
    reading of the photo's own metadata (and sidecars) found."""
    photo = _photo(request, photo_id)
    return _regions_out(photo, getattr(photo, "region_import", None))


@router.post("/photos/{photo_id}/regions/import", response=responses(RegionsOut, 200, 409), url_name="photo-regions-import")
def photo_regions_read_again(request: HttpRequest, photo_id: int):
    """Read the photo's face regions again (after tagging it in another program) and put
    their names onto its faces, as after processing; a second reading changes nothing."""
    photo = _photo(request, photo_id)
    if photo.status != Photo.Status.DONE:
        raise ApiError("The photo's faces are not found yet: read its regions once it is processed.", status=409)
    return _regions_out(photo, photo_regions_import(photo=photo))


@router.get("/photos/{photo_id}/metadata.xmp", response=ERRORS, url_name="photo-metadata-xmp",
            openapi_extra=_file_answer("application/rdf+xml", "an XMP sidecar with the confirmed names as MWG regions"))
def photo_metadata_xmp(request: HttpRequest, photo_id: int):
    """The photo's confirmed names as an XMP sidecar (MWG regions) to download; for a
    library photo, its own sidecar with only the regions replaced."""
    photo = _photo(request, photo_id)
    content = photo_sidecar_bytes(photo=photo)
    return attachment(content, "application/rdf+xml", f"{Path(photo.original_name).name}.xmp")


@router.get("/photos/{photo_id}/download-named", response=ERRORS, url_name="photo-download-named",
            openapi_extra=_file_answer("image/jpeg", "a copy of the JPEG with the names embedded, pixels untouched"))
def photo_download_named(request: HttpRequest, photo_id: int):
    """A copy of a JPEG photo with its confirmed names embedded as MWG regions (the image
    data copied as it is, not encoded again)."""
    photo = _photo(request, photo_id)
    content = photo_jpeg_with_names(photo=photo)
    return attachment(content, "image/jpeg", Path(photo.original_name).name)


@router.post("/photos/{photo_id}/sidecar", response=responses(WrittenOut), url_name="photo-sidecar-write")
def photo_sidecar(request: HttpRequest, photo_id: int):
    """Write a library photo's confirmed names into its sidecar next to the file, where
    the administrator allows it (VISAGE_LIBRARY_WRITE_SIDECARS); the photo file itself is
    never written."""
    photo = _photo(request, photo_id)
    return {"written": photo_sidecar_write(photo=photo).name}


@router.post("/albums/{album_id}/names-export", response=responses(ExportOut), url_name="album-names-export")
def album_export(request: HttpRequest, album_id: int):
    """Write the sidecars of every photo of a library's album (where allowed), so the
    names confirmed in Visage reach the other programs that read the folder."""
    album = album_for_owner(owner=request.user, album_id=album_id)
    if album is None:
        raise not_found("album", album_id)
    if not hasattr(album, "library"):
        raise ApiError("An album of uploads has no folder to write into: download each photo's sidecar instead.")
    summary = album_names_export(album=album)
    return {"written": len(summary.written), "failed": summary.failed}

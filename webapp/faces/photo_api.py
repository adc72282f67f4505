"""The API's photos, one at a time (docs/api.md): a photo with its faces, and deleting one.
At the faces level, since a photo is shown with its faces; the photo list with its
filters by person is at the search level (webapp/search/api.py)."""
from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Schema

from webapp.core.apikit import ApiError, not_found, responses
from webapp.faces.api import FaceOut, face_out
from webapp.faces.selectors import face_list
from webapp.photos import selectors, services
from webapp.photos.models import Photo

router = Router(tags=["photos"])


class PhotoOut(Schema):
    id: int
    name: str
    album_id: int
    library_id: int | None
    relative_path: str  # inside the library's folder; empty for an upload
    status: str  # queued (not processed yet), done, failed
    error: str  # why processing failed
    missing: bool  # a library file gone at the last scan
    width: int | None
    height: int | None
    taken_at: datetime | None
    created_at: datetime
    url: str  # its page
    file_url: str  # the original
    thumbnail_url: str


class PhotoDetailOut(PhotoOut):
    faces: list[FaceOut]  # left to right


class PhotoDeletedOut(Schema):
    deleted: int


def photo_out(request, photo: Photo) -> dict:
    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(name, args=[photo.pk]))

    return {"id": photo.pk, "name": photo.original_name, "album_id": photo.album_id, "library_id": photo.library_id,
            "relative_path": photo.relative_path, "status": photo.status, "error": photo.error,
            "missing": photo.missing, "width": photo.width, "height": photo.height, "taken_at": photo.taken_at,
            "created_at": photo.created_at, "url": url("photo-detail"), "file_url": url("photo-file"),
            "thumbnail_url": url("photo-thumbnail")}


def _photo(request, photo_id: int) -> Photo:
    photo = selectors.photo_for_owner(owner=request.user, photo_id=photo_id)
    if photo is None:
        raise not_found("photo", photo_id)
    return photo


@router.get("/photos/{int:photo_id}", response=responses(PhotoDetailOut), url_name="photo")
def photo_get(request: HttpRequest, photo_id: int):
    """One photo with its faces, left to right."""
    photo = _photo(request, photo_id)
    faces = face_list(owner=request.user).filter(photo=photo).order_by("box_x0")
    return {**photo_out(request, photo), "faces": [face_out(request, face) for face in faces]}


@router.delete("/photos/{int:photo_id}", response=responses(PhotoDeletedOut, 200, 409), url_name="photo")
def photo_delete(request: HttpRequest, photo_id: int):
    """Delete an uploaded photo with its faces and its file. A library photo is refused
    (409): remove the file from the folder and rescan."""
    try:
        services.photo_delete(photo=_photo(request, photo_id))
    except services.AlbumError as exc:
        raise ApiError(str(exc), status=409) from None
    return {"deleted": photo_id}

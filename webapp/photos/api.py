"""The API's albums, uploads and external libraries (docs/api.md): what the album and
library pages do, as JSON."""
from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from webapp.core.apikit import ApiError, Page, not_found, responses
from webapp.photos import libraries, selectors, services
from webapp.photos.models import Album, Library, LibraryScan
from webapp.photos.upload_handlers import skipped_uploads

router = Router(tags=["albums and libraries"])


def _url(context, name: str, pk: int) -> str:
    return context["request"].build_absolute_uri(reverse(name, args=[pk]))


class ProgressOut(Schema):
    """How far the processing (face detection) of an album's photos is, as its page's bar."""

    total: int
    queued: int
    done: int
    failed: int
    percent: int
    complete: bool  # nothing left queued


class AlbumOut(Schema):
    id: int
    name: str
    created_at: datetime
    photo_count: int
    face_count: int
    library_id: int | None = Field(None, description="Set when the album shows a library folder (it takes no uploads).")
    url: str  # its page

    @staticmethod
    def resolve_library_id(album, context) -> int | None:
        return getattr(album, "library_pk", None)

    @staticmethod
    def resolve_url(album, context) -> str:
        return _url(context, "album-detail", album.pk)


class AlbumIn(Schema):
    name: str = Field(..., description="At most 200 characters.")


class DeletedOut(Schema):
    deleted: int  # the id
    photos: int  # how many photos went with it


class OutcomeOut(Schema):
    """What became of one uploaded file (a .zip gives one line per file inside it)."""

    name: str
    status: str = Field(..., description='"added", "duplicate" (already there: photo_id is that photo) or "rejected"')
    message: str  # why, when not added
    photo_id: int | None


class UploadOut(Schema):
    results: list[OutcomeOut]


class ScanOut(Schema):
    """A scan of a library folder: its progress while it runs, then what became of the
    files; ``errors`` lists each file that could not be taken, with why."""

    id: int
    status: str  # queued, running, done, failed
    active: bool  # queued or running: poll again
    progress_done: int
    progress_total: int
    message: str
    error: str
    added: int
    changed: int
    moved: int
    returned: int
    vanished: int
    unchanged: int
    errors: list[dict] = Field(..., description='[{"path": relative path, "reason": text}]')
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_status(scan: LibraryScan, context) -> str:
        return LibraryScan.Status.FAILED if scan.has_failed else scan.status

    @staticmethod
    def resolve_active(scan: LibraryScan, context) -> bool:
        return scan.is_active

    @staticmethod
    def resolve_error(scan: LibraryScan, context) -> str:
        return scan.failure


class LibraryOut(Schema):
    id: int
    root: str  # the folder on the server
    album_id: int  # where its photos are shown
    photo_count: int
    missing_count: int  # photos whose file was gone at the last scan
    created_at: datetime
    url: str

    @staticmethod
    def resolve_url(library, context) -> str:
        return _url(context, "library-detail", library.pk)


class LibraryDetailOut(LibraryOut):
    scan: ScanOut | None  # the latest
    progress: ProgressOut  # processing of its photos

    @staticmethod
    def resolve_scan(library, context) -> LibraryScan | None:
        return selectors.library_last_scan(library=library)

    @staticmethod
    def resolve_progress(library, context) -> dict:
        return _progress(library.album)


class LibraryIn(Schema):
    folder: str = Field(..., description="A full path inside one of the server's VISAGE_LIBRARY_ROOTS.")


def _album(request, album_id: int) -> Album:
    album = selectors.album_with_counts(owner=request.user, album_id=album_id)
    if album is None:
        raise not_found("album", album_id)
    return album


def _library(request, library_id: int) -> Library:
    library = selectors.library_for_owner(owner=request.user, library_id=library_id)
    if library is None:
        raise not_found("library", library_id)
    return library


def _progress(album: Album) -> dict:
    progress = selectors.album_progress(album=album)
    return {"total": progress.total, "queued": progress.queued, "done": progress.done, "failed": progress.failed,
            "percent": progress.percent, "complete": progress.complete}


@router.get("/albums", response=responses(list[AlbumOut]), url_name="albums")
@paginate(Page)
def album_list(request: HttpRequest):
    """Your albums, newest first, with how many photos and faces each holds."""
    return selectors.album_list(owner=request.user)


@router.post("/albums", response=responses(AlbumOut, 201), url_name="album-create")
def album_create(request: HttpRequest, body: AlbumIn):
    """A new, empty album."""
    album = services.album_create(owner=request.user, name=body.name)
    return Status(201, _album(request, album.pk))


@router.get("/albums/{int:album_id}", response=responses(AlbumOut), url_name="album")
def album_get(request: HttpRequest, album_id: int):
    """One album, with how many photos and faces it holds."""
    return _album(request, album_id)


@router.patch("/albums/{int:album_id}", response=responses(AlbumOut), url_name="album")
def album_rename(request: HttpRequest, album_id: int, body: AlbumIn):
    """Rename an album."""
    services.album_rename(album=_album(request, album_id), name=body.name)
    return _album(request, album_id)


@router.delete("/albums/{int:album_id}", response=responses(DeletedOut), url_name="album")
def album_delete(request: HttpRequest, album_id: int):
    """Delete an album with its photos and their faces and files; people named only in
    them stay, without these faces. A library's album is refused (remove the library)."""
    return {"deleted": album_id, "photos": services.album_delete(album=_album(request, album_id))}


@router.get("/albums/{int:album_id}/progress", response=responses(ProgressOut), url_name="album-progress")
def album_progress(request: HttpRequest, album_id: int):
    """How far the processing of the album's photos is (poll it after an upload)."""
    return _progress(_album(request, album_id))


_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                             "description": "one or more images (JPEG, PNG, ...) or .zip archives of them"}},
}}}}}


@router.post("/albums/{int:album_id}/photos", response=responses(UploadOut), url_name="album-upload",
             openapi_extra=_UPLOAD_BODY)
def album_upload(request: HttpRequest, album_id: int):
    """Upload photos into an album: multipart ``files``, repeated. One answer per file
    (added, already there, or refused and why): a bad file never stops the others. The
    added photos are processed in the background: poll the album's progress."""
    album = _album(request, album_id)  # before the files are read: another user's album is a 404
    uploads = request.FILES.getlist("files")
    refused = [services.FileOutcome(name, "rejected", reason) for name, reason in skipped_uploads(request)]
    if not uploads and not refused:
        raise ApiError("No files in the upload: send them as multipart 'files'.")
    outcomes = refused + services.upload_ingest(
        owner=request.user, album=album, files=[(upload.name, upload.file) for upload in uploads])
    for upload in uploads:
        upload.close()
    return {"results": [outcome.as_dict() for outcome in outcomes]}


@router.get("/libraries", response=responses(list[LibraryOut]), url_name="libraries")
@paginate(Page)
def library_list(request: HttpRequest):
    """Your external libraries: folders on the server indexed in place."""
    return selectors.library_list(owner=request.user)


@router.post("/libraries", response=responses(LibraryDetailOut, 201), url_name="library-create")
def library_create(request: HttpRequest, body: LibraryIn):
    """Add a folder as a library; its first scan starts at once."""
    library = libraries.library_create(owner=request.user, folder=body.folder)
    return Status(201, _library(request, library.pk))


@router.get("/libraries/{int:library_id}", response=responses(LibraryDetailOut), url_name="library")
def library_get(request: HttpRequest, library_id: int):
    """One library with its latest scan (progress, per-file errors) and the processing of its photos."""
    return _library(request, library_id)


@router.delete("/libraries/{int:library_id}", response=responses(DeletedOut), url_name="library")
def library_remove(request: HttpRequest, library_id: int):
    """Remove a library from Visage: its photos, their faces and names, its album. The
    files in the folder are never touched; adding the folder again brings the photos back
    (without the names given)."""
    return {"deleted": library_id, "photos": libraries.library_remove(library=_library(request, library_id))}


@router.get("/libraries/{int:library_id}/scan", response=responses(ScanOut), url_name="library-scan")
def library_scan(request: HttpRequest, library_id: int):
    """The library's latest scan (poll it while ``active``)."""
    scan = selectors.library_last_scan(library=_library(request, library_id))
    if scan is None:
        raise ApiError("This library has not been scanned yet.", status=404)
    return scan


@router.post("/libraries/{int:library_id}/rescan", response=responses(ScanOut, 202), url_name="library-rescan")
def library_rescan(request: HttpRequest, library_id: int):
    """Scan the folder again for new, changed, moved and vanished files (a scan already
    running is answered instead of a second one)."""
    return Status(202, libraries.scan_start(library=_library(request, library_id), created_by=request.user))

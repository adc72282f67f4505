"""The photo page's and the library album's "names out" actions: downloads of the names
as standard metadata, and sidecars written into a library folder where that is allowed."""
from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from webapp.people.metadata_export import ExportError, album_names_export, photo_jpeg_with_names, photo_sidecar_bytes, photo_sidecar_write
from webapp.photos.selectors import album_for_owner, photo_for_owner


def _photo_or_404(request, photo_id: int):
    photo = photo_for_owner(owner=request.user, photo_id=photo_id)
    if photo is None:
        raise Http404("No such photo")
    return photo


def attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """A download of ``content`` (also the API's, webapp/people/metadata_api.py)."""
    response = HttpResponse(content, content_type=content_type)
    # The name the photo had, as a download name only (quotes and controls taken out).
    safe = "".join(c for c in filename if c.isprintable() and c not in '"\\') or "photo"
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def photo_metadata_xmp(request, photo_id: int):
    photo = _photo_or_404(request, photo_id)
    try:
        content = photo_sidecar_bytes(photo=photo)
    except ExportError as exc:
        raise Http404(str(exc)) from exc
    return attachment(content, "application/rdf+xml", f"{Path(photo.original_name).name}.xmp")


@require_GET
def photo_download_named(request, photo_id: int):
    photo = _photo_or_404(request, photo_id)
    try:
        content = photo_jpeg_with_names(photo=photo)
    except ExportError as exc:
        messages.error(request, str(exc))
        return redirect("photo-detail", photo_id=photo.pk)
    return attachment(content, "image/jpeg", Path(photo.original_name).name)


@require_POST
def photo_sidecar_write_view(request, photo_id: int):
    photo = _photo_or_404(request, photo_id)
    try:
        path = photo_sidecar_write(photo=photo)
    except ExportError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Names written to {path.name} next to the photo.")
    return redirect("photo-detail", photo_id=photo.pk)


@require_POST
def album_names_export_view(request, album_id: int):
    album = album_for_owner(owner=request.user, album_id=album_id)
    if album is None or not hasattr(album, "library"):
        raise Http404("No such library album")
    try:
        summary = album_names_export(album=album)
    except ExportError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Names written to {len(summary.written)} sidecar(s).")
        for name, reason in list(summary.failed.items())[:20]:
            messages.warning(request, f"{name}: {reason}")
    # From the library's remove page: back there, the names now safe in the sidecars.
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("album-detail", album_id=album.pk)

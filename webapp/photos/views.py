from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.photos import selectors, services
from webapp.photos.forms import AlbumForm
from webapp.photos.originals import photo_open
from webapp.photos.upload_handlers import skipped_uploads


def _album_or_404(request, album_id: int):
    album = selectors.album_for_owner(owner=request.user, album_id=album_id)
    if album is None:
        raise Http404("No such album")
    return album


def _photo_or_404(request, photo_id: int):
    photo = selectors.photo_for_owner(owner=request.user, photo_id=photo_id)
    if photo is None:
        raise Http404("No such photo")
    return photo


@require_http_methods(["GET", "POST"])
def album_list(request):
    form = AlbumForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            album = services.album_create(owner=request.user, name=form.cleaned_data["name"])
        except services.AlbumError as exc:
            form.add_error("name", str(exc))
        else:
            return redirect("album-detail", album_id=album.pk)
    albums = selectors.album_list(owner=request.user)
    return render(request, "photos/album_list.html", {"albums": albums, "form": form})


@require_GET
def album_detail(request, album_id: int):
    album = _album_or_404(request, album_id)
    return render(
        request,
        "photos/album_detail.html",
        {
            "album": album,
            "photos": selectors.album_photos(album=album),
            "progress": selectors.album_progress(album=album),
            "library": selectors.library_for_album(album=album),
            "sidecars_writable": settings.VISAGE_LIBRARY_WRITE_SIDECARS,
        },
    )


@require_POST
def album_rename(request, album_id: int):
    album = _album_or_404(request, album_id)
    try:
        services.album_rename(album=album, name=request.POST.get("name", ""))
    except services.AlbumError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Album renamed to “{album.name}”.")
    return redirect("album-detail", album_id=album.pk)


@require_http_methods(["GET", "POST"])
def album_delete(request, album_id: int):
    """GET: what deleting the album takes with it; POST: delete it."""
    album = _album_or_404(request, album_id)
    if request.method == "POST":
        try:
            count = services.album_delete(album=album)
        except services.AlbumError as exc:
            messages.error(request, str(exc))
            return redirect("album-detail", album_id=album.pk)
        messages.info(request, f"Album “{album.name}” deleted with its {count} photo{'s' if count != 1 else ''}.")
        return redirect("album-list")
    return render(request, "photos/album_delete.html", {"album": album, "photos": album.photos.count(),
                                                       "library": selectors.library_for_album(album=album)})


@require_GET
def album_progress(request, album_id: int):
    album = _album_or_404(request, album_id)
    return render(request, "photos/_progress.html", {"album": album, "progress": selectors.album_progress(album=album)})


@require_GET
def album_grid(request, album_id: int):
    album = _album_or_404(request, album_id)
    return render(request, "photos/_grid.html", {"album": album, "photos": selectors.album_photos(album=album)})


@require_POST
def album_upload(request, album_id: int):
    """Multipart POST of one or more files (`files`): images or .zip archives.

    Answers JSON with one line per file for the upload page, or redirects back with a
    summary for a plain form post."""
    album = _album_or_404(request, album_id)
    uploads = request.FILES.getlist("files")
    refused = skipped_uploads(request)
    if not uploads and not refused:
        if _wants_json(request):
            return JsonResponse({"error": "No files in the upload."}, status=400)
        messages.error(request, "No files in the upload.")
        return redirect("album-detail", album_id=album.pk)
    outcomes = [services.FileOutcome(name, "rejected", reason) for name, reason in refused]
    outcomes += services.upload_ingest(
        owner=request.user, album=album, files=[(upload.name, upload.file) for upload in uploads]
    )
    for upload in uploads:
        upload.close()
    if _wants_json(request):
        return JsonResponse({"results": [o.as_dict() for o in outcomes]})
    added = sum(o.status == "added" for o in outcomes)
    messages.info(request, f"{added} photo(s) added, {len(outcomes) - added} not added.")
    for outcome in outcomes:
        if outcome.status != "added":
            messages.warning(request, f"{outcome.name}: {outcome.status} — {outcome.message}")
    return redirect("album-detail", album_id=album.pk)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_GET
def photo_detail(request, photo_id: int):
    photo = _photo_or_404(request, photo_id)
    faces = list(photo.faces.defer("embedding", "thumbnail").select_related("person").order_by("box_x0"))
    return render(request, "photos/photo_detail.html", {
        "photo": photo, "faces": faces,
        "region_import": selectors.regions_unmatched(photo=photo),
        "sidecars_writable": photo.library_id is not None and settings.VISAGE_LIBRARY_WRITE_SIDECARS,
    })


@require_GET
def photo_file(request, photo_id: int):
    photo = _photo_or_404(request, photo_id)
    try:
        handle = photo_open(photo)
    except (FileNotFoundError, PermissionError) as exc:
        raise Http404("The photo file is missing") from exc
    response = FileResponse(handle, content_type=f"image/{photo.image_format}")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_POST
def photo_delete(request, photo_id: int):
    photo = _photo_or_404(request, photo_id)
    album_id = photo.album_id
    try:
        services.photo_delete(photo=photo)
    except services.AlbumError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=409)
        messages.error(request, str(exc))
        return redirect("photo-detail", photo_id=photo_id)
    if _wants_json(request):
        return JsonResponse({"deleted": photo_id})
    messages.info(request, "Photo deleted.")
    return redirect("album-detail", album_id=album_id)


@require_GET
def photo_thumbnail(request, photo_id: int):
    photo = _photo_or_404(request, photo_id)
    if not photo.thumbnail:
        raise Http404("No thumbnail yet")
    response = HttpResponse(bytes(photo.thumbnail), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response

"""Pages of the external libraries: the list (with the form to add a folder), one
library with its scan's progress and per-file errors, the rescan button, and removing a
library after a confirm page."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from webapp.photos import libraries, selectors
from webapp.photos.forms import LibraryForm


def _library_or_404(request, library_id: int):
    library = selectors.library_for_owner(owner=request.user, library_id=library_id)
    if library is None:
        raise Http404("No such library")
    return library


@require_http_methods(["GET", "POST"])
def library_list(request):
    form = LibraryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            library = libraries.library_create(owner=request.user, folder=form.cleaned_data["folder"])
        except libraries.LibraryError as exc:
            form.add_error("folder", str(exc))
        else:
            return redirect("library-detail", library_id=library.pk)
    return render(request, "photos/library_list.html", {
        "libraries": selectors.library_list(owner=request.user), "form": form, "roots": libraries.library_roots(),
    }, status=400 if form.errors else 200)


def _detail_context(library) -> dict:
    return {"library": library, "scan": selectors.library_last_scan(library=library),
            "progress": selectors.album_progress(album=library.album)}


@require_GET
def library_detail(request, library_id: int):
    library = _library_or_404(request, library_id)
    return render(request, "photos/library_detail.html", _detail_context(library))


@require_GET
def library_scan_progress(request, library_id: int):
    library = _library_or_404(request, library_id)
    return render(request, "photos/_library_scan.html", _detail_context(library))


@require_POST
def library_rescan(request, library_id: int):
    library = _library_or_404(request, library_id)
    libraries.scan_start(library=library, created_by=request.user)
    return redirect("library-detail", library_id=library.pk)


@require_http_methods(["GET", "POST"])
def library_remove(request, library_id: int):
    """GET: what removing the library takes away and what it leaves (the files); POST: remove it."""
    library = _library_or_404(request, library_id)
    if request.method == "POST":
        try:
            count = libraries.library_remove(library=library)
        except libraries.LibraryError as exc:
            messages.error(request, str(exc))
            return redirect("library-detail", library_id=library.pk)
        messages.info(request, f"Library {library.root} removed from Visage with its {count} photo{'s' if count != 1 else ''}; "
                               "the files in the folder are untouched.")
        return redirect("library-list")
    return render(request, "photos/library_remove.html",
                  {"library": library, "sidecars_writable": settings.VISAGE_LIBRARY_WRITE_SIDECARS})

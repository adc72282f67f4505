"""Pages: similar faces, "who is this?", "same person?", people search."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from webapp.search import selectors, services
from webapp.search.forms import IdentifyForm
from webapp.search.verify_page import verify_page

SIMILAR_PAGE = 24


@require_GET
def face_similar(request, face_id: int):
    try:
        face = services.library_face(owner=request.user, face_id=face_id)
    except services.QueryError as exc:
        raise Http404(str(exc)) from exc
    offset = max(0, int(request.GET.get("offset", 0) or 0))
    similar = selectors.face_similar(owner=request.user, face=face, limit=SIMILAR_PAGE, offset=offset)
    context = {
        "face": face,
        "similar": similar,
        "next_offset": offset + SIMILAR_PAGE if len(similar) == SIMILAR_PAGE else None,
    }
    if request.htmx and offset:
        return render(request, "search/_similar_items.html", context)
    context["guess"] = selectors.person_guess(
        owner=request.user, model=face.embedding_model, embedding=face.embedding, exclude_face_id=face.pk
    )
    return render(request, "search/face_similar.html", context)


@require_http_methods(["GET", "POST"])
def who_is_this(request):
    form = IdentifyForm(request.POST or None, request.FILES or None)
    faces, error = None, None
    if request.method == "POST" and form.is_valid():
        try:
            faces = services.photo_identify(owner=request.user, upload=form.cleaned_data["photo"])
        except services.QueryError as exc:
            error = str(exc)
    return render(request, "search/who_is_this.html", {"form": form, "faces": faces, "error": error})


@require_http_methods(["GET", "POST"])
def verify(request):
    data = request.POST if request.method == "POST" else request.GET
    page = verify_page(owner=request.user, data=data, files=request.FILES)
    return render(request, "search/verify.html", {"page": page, "result": page.result})


@require_GET
def people_search(request):
    query = request.GET.get("q", "").strip()
    people = selectors.person_search(owner=request.user, query=query) if query else []
    return render(request, "search/people_search.html", {"query": query, "people": people})

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from webapp.faces import selectors

FACES_PER_PAGE = 60


@require_GET
def face_list(request):
    page = Paginator(selectors.face_list(owner=request.user), FACES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "faces/face_list.html", {"page": page})


@require_GET
def face_thumbnail(request, face_id: int):
    face = selectors.face_for_owner(owner=request.user, face_id=face_id)
    if face is None:
        raise Http404("No such face")
    response = HttpResponse(bytes(face.thumbnail), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response

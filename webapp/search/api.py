"""JSON API (docs/api.md). Authenticated by session (with CSRF on writes) or HTTP Basic."""
from __future__ import annotations

import base64
import binascii
import json
from functools import wraps

from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from webapp.people import faceedits
from webapp.people import selectors as people_selectors
from webapp.people.services import EditError
from webapp.photos.selectors import photo_for_owner
from webapp.search import selectors, services
from webapp.search.selectors import PersonGuess, SimilarFace


def _basic_user(request):
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        return None
    try:
        username, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return authenticate(request, username=username, password=password)


def api_view(view):
    """401 JSON instead of a login redirect; CSRF enforced for session-authenticated writes;
    QueryError becomes a 4xx JSON error."""

    @csrf_exempt
    @login_not_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = _basic_user(request)
        if user is not None:
            request.user = user
        elif request.user.is_authenticated:
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                rejected = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
                if rejected is not None:
                    return JsonResponse({"error": "CSRF check failed."}, status=403)
        else:
            response = JsonResponse({"error": "Authentication required."}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="Visage"'
            return response
        try:
            return view(request, *args, **kwargs)
        except services.QueryError as exc:
            return JsonResponse({"error": str(exc)}, status=exc.status)

    return wrapper


def _face_json(request, face) -> dict:
    return {
        "id": face.pk,
        "photo_id": face.photo_id,
        "box": [round(v, 1) for v in face.box],
        "person": face.person.name if face.person_id and face.person.name else None,
        "taken_at": face.photo.taken_at.isoformat() if face.photo.taken_at else None,
        "thumbnail_url": request.build_absolute_uri(reverse("face-thumbnail", args=[face.pk])),
        "photo_url": request.build_absolute_uri(reverse("photo-detail", args=[face.photo_id])),
        "similar_url": request.build_absolute_uri(reverse("api-face-similar", args=[face.pk])),
        "source": face.source,
    }


def _similar_json(request, item: SimilarFace) -> dict:
    return {**_face_json(request, item.face), "distance": round(item.distance, 4),
            "probability_same": round(item.probability, 4), "same_person": item.same_person}


def _guess_json(guess: PersonGuess) -> dict:
    """``stranger_chance``: how often a stranger comes as close to one of the
    ``people_compared`` named people as the closest named face is."""
    evidence = {
        "closest": guess.closest.name if guess.closest else None,
        "distance": round(guess.distance, 4) if guess.closest else None,
        "stranger_chance": round(guess.stranger_chance, 5),
        "people_compared": guess.people_compared,
    }
    if guess.person is None:
        return {"person": None, "person_id": None, "confidence": 0.0, "text": "unknown", **evidence}
    return {
        "person": guess.person.name,
        "person_id": guess.person.pk,
        "confidence": round(guess.confidence, 3),
        "text": guess.person.name,
        **evidence,
    }


def _int_param(request, name: str, default: int, low: int, high: int) -> int:
    try:
        value = int(request.GET.get(name, default))
    except ValueError:
        raise services.QueryError(f"'{name}' must be a number.") from None
    if not low <= value <= high:
        raise services.QueryError(f"'{name}' must be between {low} and {high}.")
    return value


@api_view
@require_GET
def face_similar(request, face_id: int):
    face = services.library_face(owner=request.user, face_id=face_id)
    limit = _int_param(request, "limit", 20, 1, 100)
    offset = _int_param(request, "offset", 0, 0, 10_000)
    similar = selectors.face_similar(owner=request.user, face=face, limit=limit, offset=offset)
    guess = selectors.person_guess(owner=request.user, model=face.embedding_model, embedding=face.embedding, exclude_face_id=face.pk)
    return JsonResponse({
        "face": _face_json(request, face),
        "model_version": face.embedding_model.version,
        "guess": _guess_json(guess),
        "results": [_similar_json(request, item) for item in similar],
        "next_offset": offset + limit if len(similar) == limit else None,
    })


@api_view
@require_POST
def who_is_this(request):
    upload = request.FILES.get("photo")
    if upload is None:
        raise services.QueryError("Send the photo as multipart form field 'photo'.")
    faces = services.photo_identify(owner=request.user, upload=upload)
    return JsonResponse({"faces": [
        {"box": list(face.box), "guess": _guess_json(face.guess), "matches": [_similar_json(request, m) for m in face.matches]}
        for face in faces
    ]})


def _verify_side(request, side: str):
    """A face id, or a photo with the index of the face to use (left to right from 0)."""
    if request.POST.get(f"face_{side}"):
        return request.POST[f"face_{side}"]
    upload = request.FILES.get(f"photo_{side}")
    if upload is None:
        return None
    index = request.POST.get(f"face_index_{side}", "")
    if index and not index.isdigit():
        raise services.QueryError(f"'face_index_{side}' must be a number: which face of photo_{side}, left to right from 0.")
    return services.PhotoUpload(upload, int(index) if index else None)


def _compared_json(request, face) -> dict:
    if isinstance(face, services.PhotoFace):
        return {"box": list(face.box), "index": face.index, "faces_in_photo": face.faces_in_photo}
    return _face_json(request, face)


@api_view
@require_POST
def verify(request):
    if request.content_type == "application/json":
        body = _json_body(request)
        sides = [body.get("face_a"), body.get("face_b")]
    else:
        sides = [_verify_side(request, "a"), _verify_side(request, "b")]
    if any(side is None for side in sides):
        raise services.QueryError("Give face_a and face_b (face ids), or photo_a / photo_b as multipart files.")
    result = services.faces_verify(owner=request.user, first=sides[0], second=sides[1])
    return JsonResponse({
        "distance": round(result.distance, 4),
        "same_person": result.verdict.same,
        "verdict": result.verdict.words,
        "detail": result.verdict.detail,
        "probability_same": round(result.probability, 4),
        "false_accept_rate": result.false_accept_rate,
        "same_person_distance": round(result.same_person_distance, 4),
        "model_version": result.model_version,
        "face_a": _compared_json(request, result.faces[0]),
        "face_b": _compared_json(request, result.faces[1]),
    })


@api_view
@require_GET
def people_search(request):
    query = request.GET.get("q", "").strip()
    if not query:
        raise services.QueryError("Give a name prefix as ?q=…")
    people = selectors.person_search(owner=request.user, query=query)
    return JsonResponse({"results": [{"id": p.pk, "name": p.name, "faces": p.faces.count()} for p in people]})


@api_view
@require_GET
def photos_with_people(request):
    """The photos in which every ?person=<id> (repeated) has a face, newest first."""
    try:
        people = people_selectors.people_chosen(owner=request.user, person_ids=request.GET.getlist("person"))
    except ValueError:
        raise services.QueryError("A person id must be a number.") from None
    if people is None:
        raise services.QueryError("No such person.", status=404)
    if not people:
        raise services.QueryError("Give one or more people as ?person=<id>.")
    limit = _int_param(request, "limit", 50, 1, 200)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    photos = people_selectors.photos_with_people(owner=request.user, people=people)
    return JsonResponse({
        "people": [{"id": p.pk, "name": str(p)} for p in people],
        "count": photos.count(),
        "results": [{"id": photo.pk, "name": photo.original_name, "faces": photo.face_count, "taken_at": photo.taken_at,
                     "url": request.build_absolute_uri(reverse("photo-detail", args=[photo.pk]))}
                    for photo in photos[offset : offset + limit]],
    })


def _json_body(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        raise services.QueryError("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise services.QueryError("The body must be a JSON object.")
    return body


@api_view
@require_POST
def face_not_a_face(request, face_id: int):
    face = services.library_face(owner=request.user, face_id=face_id)
    try:
        faceedits.face_not_a_face(owner=request.user, face_id=face.pk)
    except EditError as exc:
        raise services.QueryError(str(exc)) from exc
    return JsonResponse({"not_a_face": face.pk, "photo_id": face.photo_id})


@api_view
@require_POST
def face_add(request, photo_id: int):
    """{"box": [x0, y0, x1, y1], "name": "…"} (name optional): a face drawn by hand."""
    if photo_for_owner(owner=request.user, photo_id=photo_id) is None:
        raise services.QueryError(f"No photo with id {photo_id}.", status=404)
    body = _json_body(request)
    name = body.get("name") or ""
    if not isinstance(name, str):
        raise services.QueryError("'name' must be a string.")
    try:
        face = faceedits.face_add(owner=request.user, photo_id=photo_id, box=body.get("box"), name=name)
    except EditError as exc:
        raise services.QueryError(str(exc)) from exc
    face = services.library_face(owner=request.user, face_id=face.pk)  # with its photo and person, as every answer shows it
    return JsonResponse(_face_json(request, face), status=201)

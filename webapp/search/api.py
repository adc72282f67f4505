"""The API's search endpoints (docs/api.md): similar faces, who is this, same person?
People by name are a filter of the people list (webapp/people/api.py: ``GET /people?q=``)."""
from __future__ import annotations

import json

from django.http import HttpRequest
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from webapp.core.apikit import ApiError, PageQuery, not_found, page_of, responses
from webapp.faces.api import FaceOut, face_out
from webapp.faces.photo_api import PhotoOut, photo_out
from webapp.faces.selectors import face_list
from webapp.people import faceedits
from webapp.people import selectors as people_selectors
from webapp.photos import selectors as photo_selectors
from webapp.search import selectors, services
from webapp.search.selectors import PersonGuess, SimilarFace

router = Router(tags=["search"])


class GuessOut(Schema):
    """``stranger_chance``: how often a stranger comes as close to one of the
    ``people_compared`` named people as the closest named face is."""

    person: str | None
    person_id: int | None
    confidence: float
    text: str  # the name, or "unknown"
    closest: str | None
    distance: float | None
    stranger_chance: float
    people_compared: int


class SimilarOut(FaceOut):
    distance: float  # cosine distance between unit embeddings, 0 = identical
    probability_same: float
    same_person: bool


class SimilarAnswer(Schema):
    face: FaceOut
    model_version: int
    guess: GuessOut
    results: list[SimilarOut]
    next_offset: int | None


class PhotoFaceOut(Schema):
    box: list[float]
    guess: GuessOut
    matches: list[SimilarOut]


class WhoAnswer(Schema):
    faces: list[PhotoFaceOut]  # left to right


class ComparedOut(Schema):
    """A library face (``id`` …) or a face of an uploaded photo (``box``, ``index``)."""

    id: int | None = None
    photo_id: int | None = None
    box: list[float]
    person: str | None = None
    thumbnail_url: str | None = None
    photo_url: str | None = None
    source: str | None = None
    index: int | None = None
    faces_in_photo: int | None = None


class VerifyAnswer(Schema):
    distance: float
    same_person: bool
    verdict: str
    detail: str
    probability_same: float
    false_accept_rate: float
    same_person_distance: float
    model_version: int
    face_a: ComparedOut
    face_b: ComparedOut


def _similar_out(request, item: SimilarFace) -> dict:
    return {**face_out(request, item.face), "distance": round(item.distance, 4),
            "probability_same": round(item.probability, 4), "same_person": item.same_person}


def _guess_out(guess: PersonGuess) -> dict:
    evidence = {
        "closest": guess.closest.name if guess.closest else None,
        "distance": round(guess.distance, 4) if guess.closest else None,
        "stranger_chance": round(guess.stranger_chance, 5),
        "people_compared": guess.people_compared,
    }
    if guess.person is None:
        return {"person": None, "person_id": None, "confidence": 0.0, "text": "unknown", **evidence}
    return {"person": guess.person.name, "person_id": guess.person.pk, "confidence": round(guess.confidence, 3),
            "text": guess.person.name, **evidence}


class SimilarQuery(Schema):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10_000)


@router.get("/faces/{face_id}/similar", response=responses(SimilarAnswer), url_name="face-similar")
def face_similar(request: HttpRequest, face_id: int, query: Query[SimilarQuery]):
    """The library faces closest to this one (same model version), nearest first, and a
    guess at who it is from the named faces."""
    face = services.library_face(owner=request.user, face_id=face_id)
    similar = selectors.face_similar(owner=request.user, face=face, limit=query.limit, offset=query.offset)
    guess = selectors.person_guess(owner=request.user, model=face.embedding_model, embedding=face.embedding,
                                   exclude_face_id=face.pk)
    return {
        "face": face_out(request, face),
        "model_version": face.embedding_model.version,
        "guess": _guess_out(guess),
        "results": [_similar_out(request, item) for item in similar],
        "next_offset": query.offset + query.limit if len(similar) == query.limit else None,
    }


@router.post("/who-is-this", response=responses(WhoAnswer, 200, 422), url_name="who-is-this")
def who_is_this(request: HttpRequest, photo: File[UploadedFile]):
    """Every face of a photo that is NOT added to the library (it lives only for the
    request), left to right, each with its nearest library faces and a guess. 422 when
    the photo has no face."""
    faces = services.photo_identify(owner=request.user, upload=photo)
    return {"faces": [
        {"box": list(face.box), "guess": _guess_out(face.guess), "matches": [_similar_out(request, m) for m in face.matches]}
        for face in faces
    ]}


def _verify_side(request, side: str):
    """A face id, or a photo with the index of the face to use (left to right from 0)."""
    if request.POST.get(f"face_{side}"):
        return request.POST[f"face_{side}"]
    upload = request.FILES.get(f"photo_{side}")
    if upload is None:
        return None
    index = request.POST.get(f"face_index_{side}", "")
    if index and not index.isdigit():
        raise ApiError(f"'face_index_{side}' must be a number: which face of photo_{side}, left to right from 0.")
    return services.PhotoUpload(upload, int(index) if index else None)


def _compared_out(request, face) -> dict:
    if isinstance(face, services.PhotoFace):
        return {"box": list(face.box), "index": face.index, "faces_in_photo": face.faces_in_photo}
    return face_out(request, face)


def json_body(request) -> dict:
    """The request's JSON object, for the few endpoints that read it by hand."""
    try:
        body = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        raise ApiError("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError("The body must be a JSON object.")
    return body


_SIDE = {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "a library face id"}
_VERIFY_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["face_a", "face_b"],
                                    "properties": {"face_a": _SIDE, "face_b": _SIDE}}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        **{f"face_{s}": _SIDE for s in "ab"},
        **{f"photo_{s}": {"type": "string", "format": "binary", "description": "a photo instead of a face id"} for s in "ab"},
        **{f"face_index_{s}": {"type": "integer", "description": f"which face of photo_{s}, left to right from 0; "
                                                                  "the largest when left out"} for s in "ab"},
    }}},
}}}


@router.post("/verify", response=responses(VerifyAnswer, 200, 422), url_name="verify", openapi_extra=_VERIFY_BODY)
def verify(request: HttpRequest):
    """Same person? Two library faces (JSON or form), or photos that are not stored, or
    one of each (multipart). The verdict comes from the model version's calibration."""
    if request.content_type == "application/json":
        body = json_body(request)
        sides = [body.get("face_a"), body.get("face_b")]
    else:
        sides = [_verify_side(request, "a"), _verify_side(request, "b")]
    if any(side is None for side in sides):
        raise ApiError("Give face_a and face_b (face ids), or photo_a / photo_b as multipart files.")
    result = services.faces_verify(owner=request.user, first=sides[0], second=sides[1])
    return {
        "distance": round(result.distance, 4),
        "same_person": result.verdict.same,
        "verdict": result.verdict.words,
        "detail": result.verdict.detail,
        "probability_same": round(result.probability, 4),
        "false_accept_rate": result.false_accept_rate,
        "same_person_distance": round(result.same_person_distance, 4),
        "model_version": result.model_version,
        "face_a": _compared_out(request, result.faces[0]),
        "face_b": _compared_out(request, result.faces[1]),
    }


class PhotoFound(PhotoOut):
    faces: int  # how many faces it holds


class PersonRef(Schema):
    id: int
    name: str


class PhotosFound(Schema):
    people: list[PersonRef]  # those asked for, in the order given
    count: int
    next_offset: int | None
    results: list[PhotoFound]


class PhotoQuery(PageQuery):
    person: list[int] = Field([], description="Repeat for each person who must be in the photo: "
                                              "?person=3&person=9 is the photos with both.")
    album: int | None = Field(None, description="Only the photos of this album.")
    library: int | None = Field(None, description="Only the photos of this library.")
    missing: bool | None = Field(None, description="true: only library photos whose file was gone at the last scan; "
                                                   "false: only those that are there.")


@router.get("/photos", response=responses(PhotosFound), url_name="photos", tags=["photos"])
def photo_list(request: HttpRequest, query: Query[PhotoQuery]):
    """Your photos, newest first (by date taken, undated last), narrowed by the filters
    given: the people who must all be in them, an album, a library, missing files."""
    people = people_selectors.people_chosen(owner=request.user, person_ids=query.person)
    if people is None:
        raise ApiError("No such person.", status=404)
    narrowed = {}
    if query.album is not None:
        narrowed["album"] = photo_selectors.album_for_owner(owner=request.user, album_id=query.album)
        if narrowed["album"] is None:
            raise not_found("album", query.album)
    if query.library is not None:
        narrowed["library"] = photo_selectors.library_for_owner(owner=request.user, library_id=query.library)
        if narrowed["library"] is None:
            raise not_found("library", query.library)
    photos = people_selectors.photos_with_people(owner=request.user, people=people, missing=query.missing, **narrowed)
    return {"people": [{"id": p.pk, "name": str(p)} for p in people],
            **page_of(photos, photos.count(), query,
                      lambda photo: {**photo_out(request, photo), "faces": photo.face_count})}


class NotAFaceOut(Schema):
    not_a_face: int
    photo_id: int


@router.post("/faces/{face_id}/not-a-face", response=responses(NotAFaceOut), url_name="face-not-a-face")
def face_not_a_face(request: HttpRequest, face_id: int):
    """Hide a detection that is not a face, everywhere; re-processing never brings it back.
    Undoable (``POST /api/v1/undo``)."""
    face = services.library_face(owner=request.user, face_id=face_id)
    faceedits.face_not_a_face(owner=request.user, face_id=face.pk)
    return {"not_a_face": face.pk, "photo_id": face.photo_id}


class DrawnFaceIn(Schema):
    box: list[float] = Field(..., description="x0, y0, x1, y1 in the photo's pixels as shown")
    name: str = Field("", description="who it is; left out or empty leaves the face unnamed")


def _photo_id(request, photo_id: int) -> int:
    if photo_selectors.photo_for_owner(owner=request.user, photo_id=photo_id) is None:
        raise not_found("photo", photo_id)
    return photo_id


# Beside "add a face": one path is one router's (a second router's would answer 405).
@router.get("/photos/{int:photo_id}/faces", response=responses(list[FaceOut]), url_name="photo-faces", tags=["photos"])
def photo_faces(request: HttpRequest, photo_id: int):
    """The photo's faces, left to right."""
    return [face_out(request, face)
            for face in face_list(owner=request.user).filter(photo_id=_photo_id(request, photo_id)).order_by("box_x0")]


@router.post("/photos/{int:photo_id}/faces", response=responses(FaceOut, 201), url_name="face-add")
def face_add(request: HttpRequest, photo_id: int, body: DrawnFaceIn):
    """A face the detector missed, drawn by hand: aligned from the box, embedded and kept
    through re-processing."""
    _photo_id(request, photo_id)
    face = faceedits.face_add(owner=request.user, photo_id=photo_id, box=body.box, name=body.name)
    face = services.library_face(owner=request.user, face_id=face.pk)  # with its photo and person, as every answer shows it
    return Status(201, face_out(request, face))

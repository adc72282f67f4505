"""The API's people endpoints (docs/api.md): faces, people and the review queue (the
grouping and face-map jobs, the history and undo are in jobs_api.py). Each calls the
service the page's button calls (services.py), so the API and the pages do the same."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from webapp.core.apikit import ApiError, Page, not_found, responses
from webapp.faces.api import FaceOut, face_out
from webapp.faces.models import Face
from webapp.people import selectors, services
from webapp.people.models import Person
from webapp.photos.selectors import photo_for_owner

router = Router()


class Shown(Sequence):
    """``items`` (a queryset or a list) as ``Page`` pages it, each page turned into its
    answers by ``show`` once it is sliced: only the rows of the page are loaded."""

    def __init__(self, items, show: Callable[[list], list]) -> None:
        self.items, self.show = items, show

    def __len__(self) -> int:
        return len(self.items) if isinstance(self.items, list) else self.items.count()

    def __getitem__(self, part):
        return self.show(list(self.items[part]))


# ---- How people and faces are shown ---------------------------------------------------

class PersonOut(Schema):
    id: int
    name: str = Field(description='the name; "" for a group nobody named yet')
    label: str = Field(description='the name, or "Unnamed #<id>"')
    faces: int
    hidden: bool
    cover_thumbnail_url: str | None = Field(description="a face that shows the person: confirmed first, then the best detection")
    url: str = Field(description="the person's page")


class PersonDetail(PersonOut):
    cover_face: FaceOut | None
    created_at: datetime
    faces_url: str = Field(description="this person's faces, paged (GET)")


class FaceDetail(FaceOut):
    person_id: int | None
    state: Literal["confirmed", "suggested", "grouped", "unsorted"] = Field(
        description="confirmed: the user said so; suggested: a name spread from similar named faces, "
                    "waiting for a yes or no; grouped: put in an unnamed group by grouping; unsorted: nobody's")
    confidence: float | None = Field(description="of a suggestion: the share of the nearest named faces' votes")
    quality: float | None = Field(description="how usable the face is to recognise, 0-1; null before it is scored")
    low_quality: bool = Field(description="below VISAGE_FACE_QUALITY_MIN: never grouped nor suggested a name")
    detection_score: float


def absolute(request, name: str, *args) -> str:
    """The absolute URL of ``name`` (a page or an API endpoint), as every answer gives links."""
    return request.build_absolute_uri(reverse(name, args=args))


def person_out(request, person: Person) -> dict:
    """``person`` with ``face_count`` and ``cover_face_id`` (selectors.people_with_covers)."""
    cover = person.cover_face_id
    return {"id": person.pk, "name": person.name, "label": str(person), "faces": person.face_count, "hidden": person.hidden,
            "cover_thumbnail_url": absolute(request, "face-thumbnail", cover) if cover else None,
            "url": absolute(request, "person-detail", person.pk)}


def _face_state(face: Face) -> str:
    if face.person_state == Face.PersonState.CONFIRMED:
        return "confirmed"
    if face.person_state == Face.PersonState.AUTO:
        return "suggested" if face.person.name else "grouped"
    return "unsorted"


def face_detail_out(request, face: Face) -> dict:
    """``face`` with ``photo`` and ``person`` selected."""
    state = _face_state(face)
    return {
        **face_out(request, face), "person_id": face.person_id, "state": state,
        "confidence": round(face.person_confidence, 4) if state == "suggested" and face.person_confidence is not None else None,
        "quality": face.quality, "detection_score": round(face.detection_score, 4),
        "low_quality": face.quality is not None and face.quality < settings.VISAGE_FACE_QUALITY_MIN,
    }


def _faces_shown(request, faces) -> Shown:
    return Shown(faces, lambda page: [face_detail_out(request, face) for face in page])


def _person(request, person_id: int) -> Person:
    person = selectors.person_with_cover(owner=request.user, person_id=person_id)
    if person is None:
        raise not_found("person", person_id)
    return person


def _person_answer(request, person: Person) -> dict:
    """A person just edited, read again with its counts."""
    return person_out(request, _person(request, person.pk))


class FaceIds(Schema):
    face_ids: list[int] = Field(..., min_length=1, max_length=10_000, description="the faces, your own")


# ---- Faces -------------------------------------------------------------------------------

class FacesQuery(Schema):
    person: int | None = Field(None, description="only this person's faces, on their timeline (newest photo first)")
    unsorted: bool = Field(False, description="only faces of nobody (not grouped, not named)")
    suggested: bool = Field(False, description="only open name suggestions, the most doubtful first (the review queue's faces)")
    photo: int | None = Field(None, description="only this photo's faces, left to right")


@router.get("/faces", response=responses(list[FaceDetail]), url_name="face-list", tags=["faces"])
@paginate(Page)
def face_list(request: HttpRequest, query: Query[FacesQuery]):
    """Your faces, newest first, or filtered (the filters combine): a person's, the
    unsorted ones, the open suggestions, a photo's. 404 for a person or photo not yours."""
    if query.person is not None and selectors.person_with_cover(owner=request.user, person_id=query.person) is None:
        raise not_found("person", query.person)
    if query.photo is not None and photo_for_owner(owner=request.user, photo_id=query.photo) is None:
        raise not_found("photo", query.photo)
    return _faces_shown(request, selectors.faces_chosen(
        owner=request.user, person_id=query.person, unsorted=query.unsorted, suggested=query.suggested, photo_id=query.photo))


@router.get("/faces/{int:face_id}", response=responses(FaceDetail), url_name="face-detail", tags=["faces"])
def face_detail(request: HttpRequest, face_id: int):
    """One face: its person, whether that is confirmed, suggested or a group, and its quality."""
    face = selectors.face_with_person(owner=request.user, face_id=face_id)
    if face is None:
        raise not_found("face", face_id)
    return face_detail_out(request, face)


class NameIn(FaceIds):
    name: str = Field(..., description="an existing person's name (any case and accents) or a new one")


@router.post("/faces/name", response=responses(PersonOut), url_name="faces-name", tags=["faces"])
def faces_name(request: HttpRequest, body: NameIn):
    """Name faces: they are confirmed as the person of that name (made when there is none),
    and the name is suggested for similar faces. One undoable operation."""
    person = services.faces_name(owner=request.user, face_ids=body.face_ids, name=body.name)
    return _person_answer(request, person)


class MoveIn(FaceIds):
    person_id: int | None = Field(None, description="the person to move them to")
    name: str = Field("", description="without person_id: the person of this name, or a new one with it; "
                                      "without either, a new unnamed person (a split)")


@router.post("/faces/move", response=responses(PersonOut), url_name="faces-move", tags=["faces"])
def faces_move(request: HttpRequest, body: MoveIn):
    """Move faces to a person, to the person of a name, or off into a new person. They are
    confirmed there; a group left empty is deleted. One undoable operation."""
    person = services.faces_move(owner=request.user, face_ids=body.face_ids, person_id=body.person_id, name=body.name)
    return _person_answer(request, person)


class RemovedOut(Schema):
    removed: int


@router.post("/faces/remove", response=responses(RemovedOut), url_name="faces-remove", tags=["faces"])
def faces_remove(request: HttpRequest, body: FaceIds):
    """Take faces out of their person: they are nobody's, and nothing automatic puts them
    back to that person. One undoable operation."""
    return {"removed": services.faces_remove(owner=request.user, face_ids=body.face_ids)}


class SettledOut(Schema):
    confirmed: int
    rejected: int
    summary: str


def _settled(confirmed: int, rejected: int) -> dict:
    return {"confirmed": confirmed, "rejected": rejected, "summary": services.settled_summary(confirmed, rejected)}


@router.post("/faces/confirm", response=responses(SettledOut), url_name="faces-confirm", tags=["faces"])
def faces_confirm(request: HttpRequest, body: FaceIds):
    """Yes to the name suggested for these faces: they are confirmed as that person.
    400 when none of them has an open suggestion. One undoable operation."""
    return _settled(*services.suggestions_settle(owner=request.user, confirm_ids=body.face_ids, reject_ids=[]))


@router.post("/faces/reject", response=responses(SettledOut), url_name="faces-reject", tags=["faces"])
def faces_reject(request: HttpRequest, body: FaceIds):
    """No to the name suggested for these faces: they leave that person for good (nothing
    suggests it again). One undoable operation."""
    return _settled(*services.suggestions_settle(owner=request.user, confirm_ids=[], reject_ids=body.face_ids))


# ---- People ------------------------------------------------------------------------------

class PeopleQuery(Schema):
    q: str = Field("", description="only people whose name, or a word of it, starts with this (case and accents ignored)")
    hidden: bool = Field(False, description="the hidden people instead of the shown ones")


@router.get("/people", response=responses(list[PersonOut]), url_name="people-list", tags=["people"])
@paginate(Page)
def people_list(request: HttpRequest, query: Query[PeopleQuery]):
    """Your people as the People page lists them: the most faces first, unnamed groups
    among them; the hidden ones with ``?hidden=true``."""
    people = selectors.person_list(owner=request.user, hidden=query.hidden, query=query.q.strip())
    return Shown(people, lambda page: [person_out(request, person) for person in page])


@router.get("/people/{int:person_id}", response=responses(PersonDetail), url_name="person-detail", tags=["people"])
def person_detail(request: HttpRequest, person_id: int):
    """One person, with the face that shows them; their faces are at ``faces_url``."""
    person = _person(request, person_id)
    cover = selectors.face_with_person(owner=request.user, face_id=person.cover_face_id) if person.cover_face_id else None
    return {**person_out(request, person), "created_at": person.created_at,
            "cover_face": face_out(request, cover) if cover else None,
            "faces_url": absolute(request, "api:person-faces", person.pk)}


@router.get("/people/{int:person_id}/faces", response=responses(list[FaceDetail]), url_name="person-faces", tags=["people"])
@paginate(Page)
def person_faces(request: HttpRequest, person_id: int):
    """The person's faces on their timeline, as their page shows them: newest photo first."""
    person = _person(request, person_id)
    return _faces_shown(request, selectors.faces_chosen(owner=request.user, person_id=person.pk))


class PersonPatch(Schema):
    name: str | None = Field(None, description='the new name; "" unnames the person')
    hidden: bool | None = Field(None, description="hide from the People page and the pair questions, or show again")


@router.patch("/people/{int:person_id}", response=responses(PersonOut), url_name="person-edit", tags=["people"])
def person_edit(request: HttpRequest, person_id: int, body: PersonPatch):
    """Rename, hide or show a person. Naming an unnamed group confirms its faces. Each
    change is one undoable operation (a rename and a hide: two)."""
    person = _person(request, person_id)
    if body.name is None and body.hidden is None:
        raise ApiError("Give a name, hidden, or both.")
    if body.name is not None:
        services.person_rename(owner=request.user, person_id=person.pk, name=body.name)
    if body.hidden is not None:
        services.person_hide(owner=request.user, person_id=person.pk, hidden=body.hidden)
    return _person_answer(request, person)


class MergeIn(Schema):
    target_id: int = Field(..., description="the person to merge into; this one is deleted")
    keep_name: Literal["target", "source"] = Field("target", description="whose name stays when both have one")


@router.post("/people/{int:person_id}/merge", response=responses(PersonOut), url_name="person-merge", tags=["people"])
def person_merge(request: HttpRequest, person_id: int, body: MergeIn):
    """Merge this person into ``target_id``: every face moves there and this person is
    deleted. One undoable operation (undo brings both back as they were)."""
    person = _person(request, person_id)
    target = services.person_merge(owner=request.user, source_id=person.pk, target_id=body.target_id, keep_name=body.keep_name)
    return _person_answer(request, target)


class SplitIn(FaceIds):
    name: str = Field("", description="names the new person; a name someone has already joins them instead")


@router.post("/people/{int:person_id}/split", response=responses(PersonOut, 201), url_name="person-split", tags=["people"])
def person_split(request: HttpRequest, person_id: int, body: SplitIn):
    """Split some of this person's faces off into a new person (the person page's
    "Split off"): they are confirmed there. One undoable operation."""
    person = _person(request, person_id)
    strangers = selectors.faces_not_of(person=person, face_ids=body.face_ids)
    if strangers:
        raise ApiError(f"Not faces of {person}: {', '.join(map(str, strangers))}.")
    new = services.faces_move(owner=request.user, face_ids=body.face_ids, person_id=None, name=body.name)
    return Status(201, _person_answer(request, new))


class PairSide(Schema):
    person: PersonOut
    faces_shown: list[FaceOut]


class PairOut(Schema):
    first: PairSide
    second: PairSide
    distance: float = Field(description="the mean distance of every face of one to every face of the other")
    probability: float = Field(description="the calibrated chance that they are one person")


class PairsQuery(Schema):
    limit: int = Field(6, ge=1, le=50)


@router.get("/people/pairs", response=responses(list[PairOut]), url_name="people-pairs", tags=["people"])
def people_pairs(request: HttpRequest, query: Query[PairsQuery]):
    """"Are these the same person?": pairs of people likely to be one person split in two,
    the likeliest first, as the review page asks; pairs answered "different" never come back."""
    pairs = selectors.person_pairs_close(owner=request.user, limit=query.limit)
    people = {p.pk: p for p in selectors.people_with_covers(Person.objects.filter(
        owner=request.user, pk__in=[p.pk for pair in pairs for p in (pair.first, pair.second)]))}
    return [{
        "first": {"person": person_out(request, people[pair.first.pk]), "faces_shown": [face_out(request, f) for f in pair.first_faces]},
        "second": {"person": person_out(request, people[pair.second.pk]), "faces_shown": [face_out(request, f) for f in pair.second_faces]},
        "distance": round(pair.distance, 4), "probability": round(pair.probability, 4),
    } for pair in pairs]


class PairAnswerIn(Schema):
    first_id: int
    second_id: int
    answer: Literal["same", "different"] = Field(description='"same" merges the second into the first; '
                                                             '"different" is remembered and never asked again')


class PairAnswerOut(Schema):
    answer: str
    merged_into: PersonOut | None


@router.post("/people/pairs", response=responses(PairAnswerOut), url_name="people-pair-answer", tags=["people"])
def people_pair_answer(request: HttpRequest, body: PairAnswerIn):
    """Answer a pair question: one person (merged, undoable) or two different people."""
    if body.answer == "same":
        target = services.person_merge(owner=request.user, source_id=body.second_id, target_id=body.first_id)
        return {"answer": body.answer, "merged_into": _person_answer(request, target)}
    services.people_distinct(owner=request.user, first_id=body.first_id, second_id=body.second_id)
    return {"answer": body.answer, "merged_into": None}


# ---- Review queue ------------------------------------------------------------------------

class ReviewItemOut(Schema):
    """"Are these faces <person>?": the faces suggested that person, asked about together."""

    person: PersonOut
    faces: list[FaceDetail]
    reference: FaceOut | None = Field(description="a confirmed face of the person, to compare with")


def _review_page(request, bundles: list[list[int]]) -> list[dict]:
    items = selectors.review_items_of(bundles)
    people = {p.pk: p for p in selectors.people_with_covers(Person.objects.filter(pk__in={i.person.pk for i in items}))}
    return [{"person": person_out(request, people[item.person.pk]),
             "faces": [face_detail_out(request, face) for face in item.faces],
             "reference": face_out(request, item.reference) if item.reference else None} for item in items]


@router.get("/review", response=responses(list[ReviewItemOut]), url_name="review-list", tags=["review"])
@paginate(Page)
def review_list(request: HttpRequest):
    """The review queue as the Review page asks it: the questions that settle the most
    faces with one answer first. ``count`` is the number of questions."""
    return Shown(selectors.review_bundles(owner=request.user), lambda page: _review_page(request, page))


class ReviewAnswerIn(Schema):
    confirm: list[int] = Field([], max_length=10_000, description="faces that ARE the person suggested")
    reject: list[int] = Field([], max_length=10_000, description="faces that are not (a face in both is confirmed)")


@router.post("/review/answer", response=responses(SettledOut), url_name="review-answer", tags=["review"])
def review_answer(request: HttpRequest, body: ReviewAnswerIn):
    """Answer one question, or many at once: the ``confirm`` faces are their suggested
    person, the ``reject`` faces are not. One undoable operation, one recompute of the
    other suggestions."""
    if not body.confirm and not body.reject:
        raise ApiError("Give the faces to confirm, to reject, or both.")
    return _settled(*services.suggestions_settle(owner=request.user, confirm_ids=body.confirm, reject_ids=body.reject))

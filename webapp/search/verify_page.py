"""The "Same person?" page: two faces chosen by clicking, each from the library or from a
photo that is not added to it, then compared.

The page is one form. What is chosen so far travels in its hidden fields: a library face
as its id, a face found in an uploaded photo as a signed token holding its embedding and
crop (the photo itself is never stored, so the face must travel with the page). Each
button is one step: choose a face, find the faces of a photo, change a side, open a
person or a page of the picker, search by name. Bad input of one side (no face in the
photo, not an image, a face id that is not the user's) is an error on the page; the
other side's choice stays."""
from __future__ import annotations

import base64
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from django.core import signing
from django.core.paginator import Page, Paginator

from webapp.faces.models import Face
from webapp.people.models import Person
from webapp.people.selectors import person_faces, person_list, unsorted_faces
from webapp.search import services
from webapp.search.selectors import person_search

SIDES = ("a", "b")
PEOPLE_PER_PAGE = 24
FACES_PER_PAGE = 48
_TOKEN_SALT = "visage.search.verify.photo-face"
_TOKEN_MAX_AGE = 24 * 3600  # a page left open overnight asks for the photo again


def photo_face_token(face: services.PhotoFace, *, owner) -> str:
    return signing.dumps({
        "owner": owner.pk, "model": face.model_id, "index": face.index, "faces": face.faces_in_photo, "box": list(face.box),
        "embedding": base64.b64encode(np.asarray(face.embedding, dtype=np.float32).tobytes()).decode(),
        "crop": base64.b64encode(face.crop_jpeg).decode(),
    }, salt=_TOKEN_SALT, compress=True)


def photo_face_from_token(token: str, *, owner) -> services.PhotoFace:
    """The face a token carries; a token that is altered, expired or another user's is refused."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=_TOKEN_MAX_AGE)
        if data["owner"] != owner.pk:
            raise signing.BadSignature
        return services.PhotoFace(
            np.frombuffer(base64.b64decode(data["embedding"]), dtype=np.float32), base64.b64decode(data["crop"]),
            tuple(data["box"]), int(data["model"]), int(data["index"]), int(data["faces"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise services.QueryError("That face from a photo can't be used any more: choose the photo again.") from None


@dataclass
class SideChoice:
    name: str  # "a" or "b"
    face: Face | services.PhotoFace | None = None
    token: str = ""  # for a face from a photo: what the next request reads it back from

    @property
    def label(self) -> str:
        return self.name.upper()

    @property
    def from_photo(self) -> bool:
        return isinstance(self.face, services.PhotoFace)

    @property
    def caption(self) -> str:
        if self.face is None:
            return f"Face {self.label}: not chosen yet"
        if self.from_photo:
            where = f", face {self.face.index + 1} of {self.face.faces_in_photo}" if self.face.faces_in_photo > 1 else ""
            return f"Face {self.label}: from your photo{where}"
        return f"Face {self.label}: {self.face.person if self.face.person_id else 'unsorted face'}"

    @property
    def value(self) -> services.Side:
        return self.face if self.from_photo else self.face.pk


@dataclass
class Picker:
    """What the open side's picker lists: people to open, or the faces of one of them."""

    browse: str = ""  # "" the people, "unsorted", or "person:<id>"
    query: str = ""
    person: Person | None = None
    people: Page | list | None = None
    faces: Page | None = None
    unsorted_count: int = 0
    candidates: list[tuple[services.PhotoFace, str]] = field(default_factory=list)  # a photo's faces to click, with tokens


@dataclass
class VerifyPage:
    sides: dict[str, SideChoice]
    picking: str | None = None  # the side whose picker is open
    picker: Picker = field(default_factory=Picker)
    error: str = ""
    result: services.Verification | None = None

    @property
    def picking_side(self) -> SideChoice | None:
        return self.sides[self.picking] if self.picking else None


def _side_and_value(raw: str) -> tuple[str, str]:
    side, _, value = raw.partition(":")
    if side not in SIDES or not value:
        raise services.QueryError("That choice could not be read: choose the face again.")
    return side, value


@contextmanager
def _on_page(errors: list[str]):
    """A step that fails on bad input says why on the page; the rest of the page goes on."""
    try:
        yield
    except services.QueryError as exc:
        errors.append(str(exc))


def verify_page(*, owner, data, files) -> VerifyPage:
    """The page after one step: ``data`` is the form (or the query string of a link such
    as ?face_a=17 from "Compare with another face…"), ``files`` its upload."""
    page = VerifyPage(sides={side: SideChoice(side) for side in SIDES})
    picker = page.picker
    picker.browse, picker.query = data.get("browse", ""), data.get("q", "").strip()
    errors: list[str] = []

    def library_choice(side: str, face_id) -> SideChoice:
        return SideChoice(side, services.library_face(owner=owner, face_id=face_id))

    def photo_choice(side: str, token: str) -> SideChoice:
        return SideChoice(side, photo_face_from_token(token, owner=owner), token)

    for side in SIDES:  # what was chosen before this step
        with _on_page(errors):
            if data.get(f"photo_face_{side}"):
                page.sides[side] = photo_choice(side, data[f"photo_face_{side}"])
            elif data.get(f"face_{side}"):
                page.sides[side] = library_choice(side, data[f"face_{side}"])
    requested = data.get("picking") if data.get("picking") in SIDES else None

    with _on_page(errors):
        if data.get("choose"):
            side, face_id = _side_and_value(data["choose"])
            page.sides[side] = library_choice(side, face_id)
        elif data.get("choose_photo_face"):
            side, token = _side_and_value(data["choose_photo_face"])
            page.sides[side] = photo_choice(side, token)
        elif data.get("change") in SIDES:
            requested = data["change"]
            page.sides[requested] = SideChoice(requested)
        elif data.get("find_faces") in SIDES:
            requested = data["find_faces"]
            _find_faces(page, owner, requested, files.get("photo"))
        elif "open" in data:
            picker.browse = data["open"]
        elif data.get("search"):
            picker.browse = ""

    unchosen = [side for side in SIDES if page.sides[side].face is None]
    page.picking = requested if requested in unchosen else (unchosen[0] if unchosen else None)
    with _on_page(errors):
        if page.picking:
            _fill_picker(picker, owner, data.get("page"))
        else:
            page.result = services.faces_verify(owner=owner, first=page.sides["a"].value, second=page.sides["b"].value)
    page.error = " ".join(errors)
    return page


def _find_faces(page: VerifyPage, owner, side: str, upload) -> None:
    """The faces of the photo chosen for ``side``: the only one is chosen at once, several
    are offered to click."""
    if upload is None:
        raise services.QueryError("Choose a photo first.")
    other = page.sides["b" if side == "a" else "a"].face
    faces = services.photo_faces(upload=upload, model=services.side_model(owner=owner, side=other))
    tokens = [photo_face_token(face, owner=owner) for face in faces]
    if len(faces) == 1:
        page.sides[side] = SideChoice(side, faces[0], tokens[0])
    else:
        page.picker.candidates = list(zip(faces, tokens))


def _fill_picker(picker: Picker, owner, page_number) -> None:
    kind, _, person_id = picker.browse.partition(":")
    if kind == "person":
        picker.person = Person.objects.filter(owner=owner, pk=int(person_id) if person_id.isdigit() else None).first()
        if picker.person is None:  # gone, or not the user's: show the people instead
            picker.browse = ""
            _fill_picker(picker, owner, None)
            raise services.QueryError("No such person.")
        picker.faces = Paginator(person_faces(person=picker.person), FACES_PER_PAGE).get_page(page_number)
    elif kind == "unsorted":
        picker.faces = Paginator(unsorted_faces(owner=owner), FACES_PER_PAGE).get_page(page_number)
    elif picker.query:
        picker.people = list(person_search(owner=owner, query=picker.query, limit=PEOPLE_PER_PAGE))
    else:
        picker.people = Paginator(person_list(owner=owner), PEOPLE_PER_PAGE).get_page(page_number)
        picker.unsorted_count = unsorted_faces(owner=owner).count()

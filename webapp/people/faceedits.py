"""The user's word on faces, from the photo page and the API: "Not a face" and "Add a
face", each one operation of the log, so Undo takes it back exactly."""
from __future__ import annotations

from webapp.faces.drawn import DrawError, face_dismiss, face_draw
from webapp.faces.models import Face
from webapp.people.oplog import recorded_operation
from webapp.people.propagation import names_propagate_near
from webapp.people.services import EditError, NotFound, assign_confirmed, clean_name, delete_empty, person_named
from webapp.photos.models import Photo
from webapp.photos.selectors import photo_for_owner


def face_not_a_face(*, owner, face_id: int) -> Photo:
    """Dismiss a face: it goes from every page, search and count, and re-processing its
    photo never finds it again. Returns its photo."""
    face = Face.objects.filter(owner=owner, pk=face_id).select_related("photo").first()
    if face is None:
        raise NotFound("No such face.")
    with recorded_operation(owner=owner, kind="not-a-face", summary=f"Marked a face in {face.photo.original_name} as not a face") as op:
        op.touch_faces([face.pk])  # its person and its rejections, which go with the row
        if face.person_id:
            # Out of its person first, while it can still be found: the suggestions it
            # voted for are recomputed without it.
            Face.objects.filter(pk=face.pk).update(person=None, person_state=Face.PersonState.NONE, person_confidence=None)
            names_propagate_near(
                owner=owner, recorder=op, moved=[face.pk] if face.person_state == Face.PersonState.CONFIRMED else [],
            )
        op.dismissed_face(face.pk)
        face_dismiss(face)  # the row as loaded, with its person: what undo puts back
        delete_empty(op, {face.person_id} - {None})
    return face.photo


def face_add(*, owner, photo_id: int, box, name: str = "") -> Face:
    """A face the detector missed, drawn by the user on one of their photos: stored like a
    detected face (webapp.faces.drawn.face_draw) and, with a name, confirmed as that
    person (an existing person of that name, else a new one), the name spreading to
    similar faces as suggestions."""
    photo = photo_for_owner(owner=owner, photo_id=photo_id)
    if photo is None:
        raise NotFound("No such photo.")
    name = clean_name(name)
    summary = f"Added a face{f' named {name}' if name else ''} in {photo.original_name}"
    with recorded_operation(owner=owner, kind="add-face", summary=summary) as op:
        try:
            face = face_draw(photo=photo, box=box)
        except DrawError as exc:
            raise EditError(str(exc)) from exc
        op.created_face(face)
        if name:
            person = person_named(op, owner, name)
            assign_confirmed(op, [face], person)
            names_propagate_near(owner=owner, recorder=op, moved=[face.pk])
            face.person = person
    return face

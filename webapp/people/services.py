"""Edits to people: naming, merging, splitting, removing, hiding, confirming. Every edit
is one transaction and one entry in the operation log (see oplog.py) so it can be undone."""
from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from webapp.faces.models import Face, KeptName
from webapp.people.models import FaceRejection, Person, PersonDistinction
from webapp.people.naming import name_key
from webapp.people.oplog import OperationRecorder, recorded_operation
from webapp.people.propagation import names_propagate_near


class EditError(ValueError):
    """An edit that makes no sense; the message is shown to the user."""


class NotFound(EditError):
    """An id that is not the owner's, or no longer exists: the API answers 404 (``status``),
    a foreign id exactly like a missing one."""

    status = 404


def _owned_faces(owner, face_ids: Iterable[int]) -> list[Face]:
    ids = sorted({int(i) for i in face_ids})
    if not ids:
        raise EditError("Select at least one face.")
    faces = list(Face.objects.filter(owner=owner, pk__in=ids))
    if len(faces) != len(ids):
        raise NotFound("Some of those faces do not exist.")
    return faces


def person_for_owner(*, owner, person_id: int) -> Person:
    person = Person.objects.filter(owner=owner, pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    return person


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if len(name) > 200:
        raise EditError("Names are at most 200 characters.")
    return name


def faces_name(*, owner, face_ids: Iterable[int], name: str) -> Person:
    """Name one or several faces: they are confirmed as that person (an existing person of
    that name, else a new one), and the name spreads to similar faces as suggestions."""
    name = clean_name(name)
    if not name:
        raise EditError("Type a name.")
    faces = _owned_faces(owner, face_ids)
    with recorded_operation(owner=owner, kind="name", summary=f"Named {len(faces)} face(s) {name}") as op:
        person = person_named(op, owner, name)
        op.touch_faces([f.pk for f in faces])
        previous = {f.person_id for f in faces if f.person_id and f.person_id != person.pk}
        assign_confirmed(op, faces, person)
        names_propagate_near(owner=owner, recorder=op, moved=[f.pk for f in faces])
        # After propagation: naming part of a group suggests the name for the rest of it,
        # which can empty the group too.
        delete_empty(op, previous)
    return person


def person_named(op: OperationRecorder, owner, name: str) -> Person:
    """The user's person of that name (the first, should there be several), else a new one."""
    person = Person.objects.filter(owner=owner, name_key=name_key(name)).order_by("pk").first()
    if person is None:
        person = Person.objects.create(owner=owner, name=name)
        op.created_person(person)
    return person


def assign_confirmed(op: OperationRecorder, faces: list[Face], person: Person) -> None:
    ids = [f.pk for f in faces]
    FaceRejection.objects.filter(face_id__in=ids, person=person).delete()
    Face.objects.filter(pk__in=ids).update(person=person, person_state=Face.PersonState.CONFIRMED, person_confidence=None)


def person_rename(*, owner, person_id: int, name: str) -> Person:
    person = person_for_owner(owner=owner, person_id=person_id)
    name = clean_name(name)
    with recorded_operation(owner=owner, kind="rename", summary=f"Renamed {person} to {name or 'Unnamed'}") as op:
        op.touch_people([person.pk])
        if name and not person.name:
            # Naming a group is the user vouching for the faces the group shows: they
            # become confirmed, so neither name propagation (which would treat them as
            # suggestions without evidence) nor the next grouping run takes them away.
            # A wrong member is then fixed like any other: "Remove from person".
            members = list(person.faces.filter(person_state=Face.PersonState.AUTO).values_list("pk", flat=True))
            op.touch_faces(members)
            Face.objects.filter(pk__in=members).update(person_state=Face.PersonState.CONFIRMED, person_confidence=None)
        named_before = bool(person.name)
        person.name = name
        person.save(update_fields=["name"])
        if named_before != bool(name):
            # Votes go to people, not names: a new name for a named person changes no vote;
            # naming or unnaming one puts its faces in or out of the evidence.
            _propagate_person(op, owner, person.pk)
    return person


def _propagate_person(op: OperationRecorder, owner, person_id: int) -> None:
    """Suggestions after a person went in or out of the evidence (named, unnamed, merged
    into): its confirmed faces moved, and its suggested faces now point at a person
    with (or without) a name."""
    faces = list(Face.objects.filter(person_id=person_id).values_list("pk", "person_state"))
    names_propagate_near(
        owner=owner, recorder=op,
        moved=[pk for pk, state in faces if state == Face.PersonState.CONFIRMED], edited=[pk for pk, _ in faces],
    )


def person_hide(*, owner, person_id: int, hidden: bool = True) -> Person:
    person = person_for_owner(owner=owner, person_id=person_id)
    with recorded_operation(owner=owner, kind="hide", summary=f"{'Hid' if hidden else 'Showed'} {person}") as op:
        op.touch_people([person.pk])
        person.hidden = hidden
        person.save(update_fields=["hidden"])
    return person


def person_merge(*, owner, source_id: int, target_id: int, keep_name: str = "target") -> Person:
    """Move every face of ``source`` into ``target`` and delete ``source``.

    keep_name: "target" or "source": whose name survives when both have one."""
    if int(source_id) == int(target_id):
        raise EditError("A person can't be merged into themselves.")
    source = person_for_owner(owner=owner, person_id=source_id)
    target = person_for_owner(owner=owner, person_id=target_id)
    if keep_name not in ("target", "source"):
        raise EditError("Choose whose name to keep.")
    with recorded_operation(owner=owner, kind="merge", summary=f"Merged {source} into {target}") as op:
        op.touch_people([source.pk, target.pk])
        moved = dict(Face.objects.filter(person=source).values_list("pk", "person_state"))
        op.touch_faces(moved)
        name = source.name if (keep_name == "source" and source.name) or not target.name else target.name
        Face.objects.filter(pk__in=moved).update(person=target)
        # The user said these faces are one person: remove rejections that contradict it.
        FaceRejection.objects.filter(face_id__in=moved, person=target).delete()
        distinctions_carry(op, source=source.pk, target=target.pk)
        # Names kept for the faces of missing library files follow too, or deleting the
        # source would take them along; an undo gives them back to the source.
        op.touch_kept_names([source.pk])
        KeptName.objects.filter(person=source).update(person=target)
        op.delete_person(source)
        named_before = bool(target.name)
        target.name = name
        target.hidden = target.hidden and source.hidden
        target.save(update_fields=["name", "hidden"])
        if named_before != bool(name):  # the target's own faces change too: it got a name
            _propagate_person(op, owner, target.pk)
        else:
            names_propagate_near(
                owner=owner, recorder=op,
                moved=[pk for pk, state in moved.items() if state == Face.PersonState.CONFIRMED], edited=moved,
            )
    return target


def distinctions_carry(op, *, source: int, target: int) -> None:
    """Whoever the user said ``source`` is not, the merged person is not either."""
    op.touch_distinctions([source, target])
    others = {b if a == source else a for a, b in
              PersonDistinction.objects.filter(Q(first_id=source) | Q(second_id=source)).values_list("first_id", "second_id")}
    PersonDistinction.objects.bulk_create(
        [PersonDistinction(first_id=min(target, other), second_id=max(target, other)) for other in others - {target}],
        ignore_conflicts=True)


def faces_move(*, owner, face_ids: Iterable[int], person_id: int | None = None, name: str = "") -> Person:
    """Split faces off into a new person (person_id None) or move them to an existing one.
    A name that a person already has moves the faces to that person rather than making a
    second one of the same name. The moved faces are confirmed there; a person left with
    no faces is deleted."""
    faces = _owned_faces(owner, face_ids)
    name = clean_name(name)
    with recorded_operation(owner=owner, kind="split", summary=f"Moved {len(faces)} face(s)") as op:
        op.touch_faces([f.pk for f in faces])
        if person_id is None and name:
            person_id = Person.objects.filter(owner=owner, name_key=name_key(name)).order_by("pk").values_list("pk", flat=True).first()
        if person_id is None:
            person = Person.objects.create(owner=owner, name=name)
            op.created_person(person)
        else:
            person = person_for_owner(owner=owner, person_id=person_id)
            op.touch_people([person.pk])
        previous = {f.person_id for f in faces if f.person_id and f.person_id != person.pk}
        assign_confirmed(op, faces, person)
        names_propagate_near(owner=owner, recorder=op, moved=[f.pk for f in faces])
        delete_empty(op, previous)
    return person


def faces_remove(*, owner, face_ids: Iterable[int]) -> int:
    """Take faces out of their person; they never go back to it automatically."""
    faces = [f for f in _owned_faces(owner, face_ids) if f.person_id]
    if not faces:
        raise EditError("Those faces don't belong to anyone.")
    with recorded_operation(owner=owner, kind="remove", summary=f"Removed {len(faces)} face(s) from their person") as op:
        op.touch_faces([f.pk for f in faces])
        for face in faces:
            FaceRejection.objects.get_or_create(face=face, person_id=face.person_id)
        Face.objects.filter(pk__in=[f.pk for f in faces]).update(person=None, person_state="", person_confidence=None)
        names_propagate_near(
            owner=owner, recorder=op,
            moved=[f.pk for f in faces if f.person_state == Face.PersonState.CONFIRMED], edited=[f.pk for f in faces],
        )
        delete_empty(op, {f.person_id for f in faces})
    return len(faces)


def suggestions_answer(*, owner, face_ids: Iterable[int], accept: bool) -> int:
    """Confirm ("yes, this is Alice") or reject ("no") suggested faces; then recompute
    the other suggestions with the new evidence."""
    face_ids = list(face_ids)
    confirmed, rejected = suggestions_settle(
        owner=owner, confirm_ids=face_ids if accept else [], reject_ids=[] if accept else face_ids
    )
    return confirmed + rejected


def suggestions_settle(*, owner, confirm_ids: Iterable[int], reject_ids: Iterable[int]) -> tuple[int, int]:
    """One answer to a bundle of the review queue: the ticked faces are that person, the
    others are not. One operation (one undo), one recompute of the other suggestions.
    Returns (confirmed, rejected)."""
    confirm_ids, reject_ids = set(map(int, confirm_ids)), set(map(int, reject_ids)) - set(map(int, confirm_ids))
    faces = [f for f in _owned_faces(owner, confirm_ids | reject_ids) if f.person_id and f.person_state == Face.PersonState.AUTO]
    if not faces:
        raise EditError("Those faces have no open suggestion.")
    confirm = [f for f in faces if f.pk in confirm_ids]
    reject = [f for f in faces if f.pk in reject_ids]
    kind = "review" if confirm and reject else "confirm" if confirm else "reject"
    with recorded_operation(owner=owner, kind=kind, summary=settled_summary(len(confirm), len(reject))) as op:
        op.touch_faces([f.pk for f in faces])  # propagation records the faces it changes itself
        Face.objects.filter(pk__in=[f.pk for f in confirm]).update(person_state=Face.PersonState.CONFIRMED, person_confidence=None)
        for face in reject:
            FaceRejection.objects.get_or_create(face=face, person_id=face.person_id)
        Face.objects.filter(pk__in=[f.pk for f in reject]).update(person=None, person_state="", person_confidence=None)
        names_propagate_near(owner=owner, recorder=op, moved=[f.pk for f in confirm], edited=[f.pk for f in reject])
    return len(confirm), len(reject)


def settled_summary(confirmed: int, rejected: int) -> str:
    """What an answer did, in the undo log and in the page's message."""
    if confirmed and rejected:
        return f"Confirmed {confirmed} and rejected {rejected} suggestion(s)"
    return f"Confirmed {confirmed} suggestion(s)" if confirmed else f"Rejected {rejected} suggestion(s)"


def delete_empty(op: OperationRecorder, person_ids: set[int]) -> None:
    for person in Person.objects.filter(pk__in=person_ids, name=""):
        if not person.faces.exists():
            op.delete_person(person)


def people_distinct(*, owner, first_id: int, second_id: int) -> None:
    """Answer "no" to "are these the same person?"."""
    first = person_for_owner(owner=owner, person_id=first_id)
    second = person_for_owner(owner=owner, person_id=second_id)
    if first.pk == second.pk:
        raise EditError("That is one person.")
    low, high = sorted((first.pk, second.pk))
    PersonDistinction.objects.get_or_create(first_id=low, second_id=high)

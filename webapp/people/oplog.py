"""The operation log: every edit records the rows it is about to change, so "Undo"
puts back exactly what was there, row for row, as many times as the user asks.

Usage inside a service (within one transaction):

    with recorded_operation(owner=user, kind="merge", summary="…") as op:
        op.touch_faces(face_ids)        # before changing them
        op.touch_people(person_ids)     # before renaming, hiding, deleting them
        person = Person.objects.create(...)
        op.created_person(person)       # undo deletes it again
        op.created_face(face)           # a face drawn by hand: undo deletes it again
        op.dismissed_face(face_id)      # a face dismissed (faces.drawn): undo restores it
        op.touch_kept_names(person_ids) # before moving the names kept for missing files
"""
from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterable, Iterator

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webapp.faces.drawn import face_restore
from webapp.faces.models import Face, KeptName
from webapp.people.models import FaceRejection, Operation, Person, PersonDistinction
from webapp.photos.models import Photo


class NothingToUndo(ValueError):
    pass


class OperationRecorder:
    def __init__(self) -> None:
        self.faces: dict[str, list] = {}
        self.people: dict[str, dict | None] = {}
        self.rejections: dict[str, list[int]] = {}
        # People whose "not the same person" answers this operation may change, and those
        # answers before it: undo puts back exactly these for exactly those people.
        self.distinction_people: set[int] = set()
        self.distinctions: set[tuple[int, int]] = set()
        self.created_faces: list[int] = []
        self.dismissed_faces: list[int] = []
        self.kept_names: dict[str, dict] = {}

    def touch_faces(self, face_ids: Iterable[int]) -> None:
        new = [i for i in face_ids if str(i) not in self.faces]
        if not new:
            return
        for face_id, person_id, state, confidence, group_key in Face.objects.filter(pk__in=new).values_list(
            "pk", "person_id", "person_state", "person_confidence", "group_key"
        ):
            self.faces[str(face_id)] = [person_id, state, confidence, group_key]
            self.rejections[str(face_id)] = []
        for face_id, person_id in FaceRejection.objects.filter(face_id__in=new).order_by("person_id").values_list(
            "face_id", "person_id"
        ):
            self.rejections[str(face_id)].append(person_id)

    def touch_people(self, person_ids: Iterable[int]) -> None:
        for person in Person.objects.filter(pk__in=[i for i in person_ids if str(i) not in self.people]):
            self.people[str(person.pk)] = {
                "owner_id": person.owner_id, "name": person.name, "hidden": person.hidden,
                "created_at": person.created_at.isoformat(),
            }

    def touch_distinctions(self, person_ids: Iterable[int]) -> None:
        new = set(person_ids) - self.distinction_people
        if not new:
            return
        self.distinction_people |= new
        rows = PersonDistinction.objects.filter(Q(first_id__in=new) | Q(second_id__in=new)).values_list("first_id", "second_id")
        self.distinctions |= set(rows)

    def touch_kept_names(self, person_ids: Iterable[int]) -> None:
        """Record the names kept for faces of missing library files (faces.KeptName) that
        belong to these people, whole: undo puts each back with its person, or again
        where deleting the person took it along."""
        for row in KeptName.objects.filter(person_id__in=list(person_ids)).values(
            "pk", "photo_id", "box_x0", "box_y0", "box_x1", "box_y1", "person_id", "person_state", "person_confidence", "group_key"
        ):
            self.kept_names.setdefault(str(row.pop("pk")), row)

    def created_person(self, person: Person) -> None:
        self.people.setdefault(str(person.pk), None)

    def created_face(self, face: Face) -> None:
        self.created_faces.append(face.pk)

    def dismissed_face(self, face_id: int) -> None:
        """Record a face about to be dismissed; touch_faces it first, so that undo also
        puts back its person and its rejections."""
        self.dismissed_faces.append(face_id)

    def delete_person(self, person: Person) -> None:
        """Delete a person after recording every row the delete changes: the person, the
        faces that point at it (set to no one), the rejections of it and the "not the same
        person" answers about it (both cascaded)."""
        self.touch_people([person.pk])
        self.touch_distinctions([person.pk])
        self.touch_kept_names([person.pk])
        self.touch_faces(Face.objects.filter(person=person).values_list("pk", flat=True))
        self.touch_faces(FaceRejection.objects.filter(person=person).values_list("face_id", flat=True))
        person.delete()

    def as_json(self) -> dict:
        return {"faces": self.faces, "people": self.people, "rejections": self.rejections,
                "distinctions": {"people": sorted(self.distinction_people), "pairs": sorted(self.distinctions)},
                "created_faces": self.created_faces, "dismissed_faces": self.dismissed_faces,
                "kept_names": self.kept_names}


@contextmanager
def recorded_operation(*, owner, kind: str, summary: str) -> Iterator[OperationRecorder]:
    recorder = OperationRecorder()
    with transaction.atomic():
        yield recorder
        Operation.objects.create(owner=owner, kind=kind, summary=summary[:300], before=recorder.as_json())


@transaction.atomic
def operation_undo(*, owner) -> Operation:
    """Undo the user's most recent operation that is not undone yet."""
    operation = (
        Operation.objects.select_for_update().filter(owner=owner, undone_at__isnull=True).order_by("-created_at", "-id").first()
    )
    if operation is None:
        raise NothingToUndo("Nothing to undo.")
    before = operation.before
    # No name propagation after an undo: the suggestions the operation changed were
    # recorded with the rest (the services pass their recorder to it), so putting the rows
    # back puts back the suggestions that went with the evidence before it.
    # People first: faces may point at a person this operation deleted.
    for person_id, state in before["people"].items():
        if state is not None:
            Person.objects.update_or_create(
                pk=int(person_id), defaults={"owner_id": state["owner_id"], "name": state["name"], "hidden": state["hidden"]}
            )
            # created_at is auto_now_add: set it after the row exists.
            Person.objects.filter(pk=int(person_id)).update(created_at=state["created_at"])
    # The names kept for missing files, with their people back (photos deleted since have none).
    kept = before.get("kept_names", {})  # operations recorded before this existed have none
    photos = set(Photo.objects.filter(pk__in={row["photo_id"] for row in kept.values()}).values_list("pk", flat=True))
    for kept_id, row in kept.items():
        if row["photo_id"] in photos:
            KeptName.objects.update_or_create(pk=int(kept_id), defaults=row)
    # Then the faces it dismissed, before their person and rejections are put back below.
    for face_id in before.get("dismissed_faces", []):  # operations recorded before these existed have none
        face_restore(face_id=face_id)
    for face_id, (person_id, state, confidence, *group) in before["faces"].items():
        fields = {"person_id": person_id, "person_state": state, "person_confidence": confidence}
        if group:  # operations recorded before group keys existed hold three values
            fields["group_key"] = group[0]
        Face.objects.filter(pk=int(face_id)).update(**fields)
    # Faces deleted since (with their photo) have nothing left to restore.
    existing = set(Face.objects.filter(pk__in=[int(f) for f in before["rejections"]]).values_list("pk", flat=True))
    for face_id, person_ids in before["rejections"].items():
        if int(face_id) not in existing:
            continue
        FaceRejection.objects.filter(face_id=int(face_id)).exclude(person_id__in=person_ids).delete()
        for person_id in person_ids:
            FaceRejection.objects.get_or_create(face_id=int(face_id), person_id=person_id)
    distinctions = before.get("distinctions")  # operations recorded before this existed have none
    if distinctions and distinctions["people"]:
        people = distinctions["people"]
        PersonDistinction.objects.filter(Q(first_id__in=people) | Q(second_id__in=people)).delete()
        alive = set(Person.objects.filter(pk__in={p for pair in distinctions["pairs"] for p in pair}).values_list("pk", flat=True))
        PersonDistinction.objects.bulk_create(
            [PersonDistinction(first_id=a, second_id=b) for a, b in distinctions["pairs"] if a in alive and b in alive])
    Face.objects.filter(pk__in=before.get("created_faces", [])).delete()
    created = [int(pid) for pid, state in before["people"].items() if state is None]
    Person.objects.filter(pk__in=created).delete()
    operation.undone_at = timezone.now()
    operation.save(update_fields=["undone_at"])
    return operation

"""Automatic grouping of a user's faces into people, as an undoable operation.

Only faces nobody confirmed take part; faces suggested to a named person are left to
name propagation. Groups found again keep their person (so links and pages stay put),
two faces of one photo never share a person, and a face never returns to a person it
was removed from."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ml.cluster import group_embeddings
from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active
from webapp.people.models import FaceRejection, Person
from webapp.people.oplog import recorded_operation
from webapp.people.propagation import names_propagate


@dataclass(frozen=True)
class GroupingResult:
    groups: int
    grouped_faces: int
    unsorted_faces: int


def faces_group(*, owner, method: str | None = None, min_cluster_size: int = 2) -> GroupingResult:
    method = method or settings.VISAGE_GROUPING_METHOD
    model = embedding_model_active()
    with recorded_operation(owner=owner, kind="group", summary=f"Grouped faces ({method})") as op:
        rows = list(
            Face.objects.filter(owner=owner, embedding_model=model)
            .exclude(person_state="confirmed")
            .exclude(person_state="auto", person__name__gt="")
            .values_list("pk", "photo_id", "person_id", "embedding")
        )
        if not rows:
            return GroupingResult(0, 0, 0)
        face_ids = np.array([r[0] for r in rows])
        photo_ids = np.array([r[1] for r in rows])
        current = {r[0]: r[2] for r in rows}
        embeddings = np.stack([np.asarray(r[3], dtype=np.float32) for r in rows])
        labels = group_embeddings(
            embeddings, photo_ids, method=method, threshold=model.same_person_threshold, min_cluster_size=min_cluster_size
        )
        op.touch_faces(face_ids.tolist())
        rejected: dict[int, set[int]] = {}
        for face_id, person_id in FaceRejection.objects.filter(face_id__in=face_ids.tolist()).values_list("face_id", "person_id"):
            rejected.setdefault(face_id, set()).add(person_id)

        assignment: dict[int, int | None] = {int(f): None for f in face_ids}
        taken: set[int] = set()
        groups = 0
        for label in np.unique(labels[labels >= 0]):
            members = face_ids[labels == label].tolist()
            person = _person_for_group(owner, op, members, current, taken)
            confirmed_photos = set(
                Face.objects.filter(person=person, person_state="confirmed").values_list("photo_id", flat=True)
            )
            kept = [
                f for f, photo in zip(members, photo_ids[labels == label].tolist())
                if person.pk not in rejected.get(f, set()) and photo not in confirmed_photos
            ]
            for face_id in kept:
                assignment[face_id] = person.pk
            groups += bool(kept)

        for face_id, person_id in assignment.items():
            if current[face_id] != person_id:
                Face.objects.filter(pk=face_id).update(
                    person_id=person_id, person_state="auto" if person_id else "", person_confidence=None
                )
        abandoned = {p for p in current.values() if p} - set(assignment.values())
        for person in Person.objects.filter(pk__in=abandoned, name=""):
            if not person.faces.exists():
                op.touch_people([person.pk])
                person.delete()
        names_propagate(owner=owner, recorder=op)
        grouped = sum(1 for p in assignment.values() if p)
        return GroupingResult(groups, grouped, len(assignment) - grouped)


def _person_for_group(owner, op, members: list[int], current: dict[int, int | None], taken: set[int]) -> Person:
    """The unnamed person most of these faces already belong to, else a new one."""
    votes = Counter(current[f] for f in members if current[f] is not None and current[f] not in taken)
    for person_id, _count in votes.most_common():
        person = Person.objects.filter(pk=person_id, owner=owner, name="").first()
        if person is not None:
            taken.add(person.pk)
            return person
    person = Person.objects.create(owner=owner)
    op.created_person(person)
    taken.add(person.pk)
    return person

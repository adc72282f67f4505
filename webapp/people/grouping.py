"""Automatic grouping of a user's faces into people, as an undoable operation.

Only faces nobody confirmed take part; faces suggested to a named person are left to
name propagation, and faces of low quality (ml/faces/quality.py) are left unsorted.
Groups found again keep their person (so links and pages stay put), two faces of one
photo never share a person, a face never returns to a person it was removed from, and
two people the user said are not the same are never joined."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from ml.grouping.merge import JoinSettings
from ml.grouping.usable import group_usable
from webapp.core.broker import send_quietly
from webapp.core.jobs import Claim, JobHeartbeat, job_claim
from webapp.faces.calibration import model_calibration
from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active, low_quality_flag
from webapp.people.models import FaceRejection, GroupingRun, Person
from webapp.people.oplog import recorded_operation
from webapp.people.propagation import names_propagate
from webapp.people.selectors import people_told_apart
from webapp.people.services import distinctions_carry


NOT_QUEUED = "Grouping could not be queued (the task queue is unreachable); try again later."


@dataclass(frozen=True)
class GroupingResult:
    groups: int
    grouped_faces: int
    unsorted_faces: int


def faces_group(*, owner, method: str | None = None, min_cluster_size: int = 2, report=lambda share, message: None) -> GroupingResult:
    """Group the user's open faces. ``report(share, message)`` hears about progress."""
    method = method or settings.VISAGE_GROUPING_METHOD
    model = embedding_model_active()
    rows = list(
        Face.objects.filter(owner=owner, embedding_model=model)
        .exclude(person_state=Face.PersonState.CONFIRMED)
        .exclude(person_state=Face.PersonState.AUTO, person__name__gt="")
        .annotate(low=low_quality_flag())
        .values_list("pk", "photo_id", "person_id", "embedding", "group_key", "low")
    )
    if not rows:
        return GroupingResult(0, 0, 0)  # nothing to do, and nothing for the undo log
    with recorded_operation(owner=owner, kind="group", summary=f"Grouped faces ({method})") as op:
        report(0.1, f"Grouping {len(rows)} faces")
        face_ids = np.array([r[0] for r in rows])
        photo_ids = np.array([r[1] for r in rows])
        current = {r[0]: r[2] for r in rows}
        current_group = {r[0]: r[4] for r in rows}
        embeddings = np.stack([np.asarray(r[3], dtype=np.float32) for r in rows])
        labels = grouping_labels(model, embeddings, photo_ids, method=method, min_cluster_size=min_cluster_size,
                                 usable=np.array([not r[5] for r in rows]))
        labels = kept_apart(labels, [current[f] for f in face_ids.tolist()], people_told_apart(owner=owner))
        report(0.6, "Assigning groups to people")
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
                Face.objects.filter(person=person, person_state=Face.PersonState.CONFIRMED).values_list("photo_id", flat=True)
            )
            kept = [
                f for f, photo in zip(members, photo_ids[labels == label].tolist())
                if person.pk not in rejected.get(f, set()) and photo not in confirmed_photos
            ]
            for face_id in kept:
                assignment[face_id] = person.pk
            groups += bool(kept)

        # A grouped face's group is its group's person; it stays with the face when the
        # face is named later, so the name can follow to the rest of the group.
        moves: dict[int | None, list[int]] = {}
        for face_id, person_id in assignment.items():
            if current[face_id] != person_id or current_group[face_id] != person_id:
                moves.setdefault(person_id, []).append(face_id)
        for person_id, moved in moves.items():  # one UPDATE per person, not per face (100k faces)
            Face.objects.filter(pk__in=moved).update(
                person_id=person_id, person_state=Face.PersonState.AUTO if person_id else Face.PersonState.NONE, person_confidence=None, group_key=person_id
            )
        abandoned = {p for p in current.values() if p} - set(assignment.values())
        for person in Person.objects.filter(pk__in=abandoned, name=""):
            if not person.faces.exists():
                _successor_told_apart(op, person.pk, [assignment[f] for f, p in current.items() if p == person.pk])
                op.delete_person(person)
        report(0.9, "Updating name suggestions")
        names_propagate(owner=owner, recorder=op)
        grouped = sum(1 for p in assignment.values() if p)
        return GroupingResult(groups, grouped, len(assignment) - grouped)


def kept_apart(labels: np.ndarray, people: list[int | None], told_apart: set[frozenset[int]]) -> np.ndarray:
    """``labels`` with every cluster that would join two people the user told apart split
    between them: their "No" outlives any re-run. ``people[i]`` is the person face i
    belongs to now. In such a cluster each person's faces form a side, the largest first,
    and a person joins the first side holding nobody they were told apart from; faces
    of nobody yet join the largest side."""
    if not told_apart:
        return labels
    labels = labels.copy()
    next_label = int(labels.max()) + 1 if len(labels) else 0
    involved = set().union(*told_apart)
    # Only a cluster holding a face of someone told apart can join two such people.
    suspects = {int(label) for label, person in zip(labels, people) if label >= 0 and person in involved}
    for label in sorted(suspects):
        members = np.flatnonzero(labels == label)
        sizes = Counter(people[i] for i in members if people[i] is not None)
        if not any(frozenset((a, b)) in told_apart for a in sizes for b in sizes if a < b):
            continue
        sides: list[set[int]] = []
        for person, _size in sizes.most_common():
            side = next((s for s in sides if not any(frozenset((person, other)) in told_apart for other in s)), None)
            if side is None:
                sides.append(side := set())
            side.add(person)
        for side in sides[1:]:  # the largest side keeps the label, and the faces of nobody
            labels[[i for i in members if people[i] in side]] = next_label
            next_label += 1
    return labels


def _successor_told_apart(op, gone: int, went_to: list[int | None]) -> None:
    """An unnamed person whose faces a run gave to others: whoever the user said it is not,
    the person that took most of its faces is not either."""
    successors = Counter(p for p in went_to if p is not None)
    if successors:
        distinctions_carry(op, source=gone, target=successors.most_common(1)[0][0])


def grouping_labels(model, embeddings: np.ndarray, photo_ids: np.ndarray, *, method: str, min_cluster_size: int = 2,
                    usable: np.ndarray | None = None) -> np.ndarray:
    """The clusters of these faces with the model's distances: its same-person threshold,
    and (HDBSCAN, whose tight clusters split the people with many photos) its
    calibration's distances for joining the clusters of one person, the merge margin
    scaled with them, and the join settings chosen for it (its ``grouping``; default
    the ones chosen for dlib v2). Faces not ``usable`` (too poor to trust, ml/faces/quality.py) are
    left unsorted; default: all usable."""
    joins = {} if method == "agglomerative" else JoinSettings.from_dict(model.grouping).joins(model_calibration(model))
    usable = np.ones(len(embeddings), dtype=bool) if usable is None else usable
    return group_usable(
        embeddings, photo_ids, usable, method=method, threshold=model.same_person_threshold,
        min_cluster_size=min_cluster_size, **joins,
    )


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


def grouping_start(*, owner, method: str | None = None, created_by=None) -> GroupingRun:
    """Queue a grouping run; one at a time per user (a second start returns the open one,
    unless its worker died: then that one fails and a new one starts)."""
    with transaction.atomic():
        active = GroupingRun.objects.select_for_update().filter(owner=owner, status__in=GroupingRun.OPEN).first()
        if active is not None and not active.fail_if_stale():
            return active
        run = GroupingRun.objects.create(
            owner=owner, method=method or settings.VISAGE_GROUPING_METHOD, created_by=created_by,
            progress_total=GroupingRun.PROGRESS_TOTAL,
        )

        def send() -> None:
            if not send_quietly("people.grouping_run_execute", args=[run.pk]):
                run.fail(error=NOT_QUEUED)

        transaction.on_commit(send)
    return run


def grouping_run_execute(*, run_id: int) -> GroupingResult | None:
    """The task body: claim the run, group, and keep the run row up to date for the page.
    None when this delivery has nothing to do (the run ended, or a live worker holds it)."""
    claim, run = job_claim(GroupingRun, run_id)
    if claim is not Claim.TAKEN:
        return None
    try:
        with JobHeartbeat(run) as heartbeat:
            heartbeat.report(done=0, message="Starting")
            result = faces_group(
                owner=run.owner, method=run.method,
                report=lambda share, message: heartbeat.report(done=round(share * GroupingRun.PROGRESS_TOTAL), message=message),
            )
    except Exception as exc:
        run.fail(error=f"Grouping failed: {exc}")
        raise
    run.finish(message=f"{result.groups} group(s); {result.unsorted_faces} face(s) left unsorted")
    return result

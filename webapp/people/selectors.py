"""Reads for people pages: the people list, a person's faces on a timeline, the review queue."""
from __future__ import annotations

import numpy as np
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Abs

from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active
from webapp.people.models import GroupingRun, Operation, Person, PersonDistinction
from webapp.people.propagation import SUGGEST_MIN_CONFIDENCE

REVIEW_BATCH = 24


def person_list(*, owner, hidden: bool = False) -> QuerySet[Person]:
    """People by size, each with a representative face (confirmed first, then the best detection)."""
    cover = Face.objects.filter(person=OuterRef("pk")).order_by("-person_state", "-detection_score")
    return (
        Person.objects.filter(owner=owner, hidden=hidden)
        .annotate(face_count=Count("faces"), cover_face_id=Subquery(cover.values("pk")[:1]))
        .filter(Q(face_count__gt=0) | ~Q(name=""))
        .order_by("-face_count", "name", "pk")
    )


def unsorted_faces(*, owner) -> QuerySet[Face]:
    return Face.objects.filter(owner=owner, person__isnull=True).select_related("photo").defer("embedding", "thumbnail").order_by("-created_at")


def person_faces(*, person: Person) -> QuerySet[Face]:
    """The person's faces on a timeline: by date taken, undated last."""
    return (
        person.faces.select_related("photo")
        .defer("embedding", "thumbnail", "photo__thumbnail")
        .order_by(F("photo__taken_at").desc(nulls_last=True), "-created_at")
    )


def review_queue(*, owner, limit: int = REVIEW_BATCH) -> QuerySet[Face]:
    """Open suggestions, most informative first: those nearest the decision boundary
    (confidence close to the suggestion bar), where one answer settles the most doubt."""

    return (
        Face.objects.filter(owner=owner, person_state=Face.PersonState.AUTO, person__name__gt="")
        .select_related("person", "photo")
        .defer("embedding", "thumbnail", "photo__thumbnail")
        .annotate(doubt=Abs(F("person_confidence") - SUGGEST_MIN_CONFIDENCE))
        .order_by("doubt", "pk")[:limit]
    )


def review_count(*, owner) -> int:
    return Face.objects.filter(owner=owner, person_state=Face.PersonState.AUTO, person__name__gt="").count()


def operation_log(*, owner, limit: int = 50) -> QuerySet[Operation]:
    return Operation.objects.filter(owner=owner).defer("before")[:limit]


def grouping_latest(*, owner):
    return GroupingRun.objects.filter(owner=owner).first()


def operation_undoable(*, owner) -> Operation | None:
    """The operation "Undo" would revert now."""
    return Operation.objects.filter(owner=owner, undone_at__isnull=True).defer("before").first()


def person_pairs_close(*, owner, limit: int = 6, margin: float = 1.5) -> list[tuple[Person, Person, float]]:
    """Pairs of people whose average faces are close: maybe one person split in two.

    Closest first; pairs the user already called different are left out."""
    model = embedding_model_active()
    rows = Face.objects.filter(owner=owner, embedding_model=model, person__isnull=False, person__hidden=False).values_list("person_id", "embedding")
    sums: dict[int, np.ndarray] = {}
    for person_id, embedding in rows:
        sums[person_id] = sums.get(person_id, 0) + np.asarray(embedding, dtype=np.float64)
    if len(sums) < 2:
        return []
    ids = list(sums)
    centres = np.stack([sums[i] / np.linalg.norm(sums[i]) for i in ids])
    distances = 1 - centres @ centres.T
    told_apart = {frozenset(pair) for pair in PersonDistinction.objects.filter(first__owner=owner).values_list("first_id", "second_id")}
    candidates = []
    for a, b in zip(*np.triu_indices(len(ids), 1)):
        if distances[a, b] < margin * model.same_person_threshold and frozenset((ids[a], ids[b])) not in told_apart:
            candidates.append((float(distances[a, b]), ids[a], ids[b]))
    candidates.sort()
    people = Person.objects.in_bulk([i for _, a, b in candidates[:limit] for i in (a, b)])
    return [(people[a], people[b], d) for d, a, b in candidates[:limit]]

"""Reads for "who is this?": similar faces, the k-NN guess, people by name.

Every query is scoped to one owner and one embedding model version."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Q, QuerySet

from ml.grouping.knn import Guess, knn_guess
from webapp.faces.models import EmbeddingModel, Face
from webapp.faces.similarity import nearest_faces
from webapp.people.models import Person
from webapp.people.naming import name_key

GUESS_NEIGHBOURS = 10


@dataclass(frozen=True)
class SimilarFace:
    face: Face
    distance: float

    @property
    def similarity_percent(self) -> int:
        return max(0, round(100 * (1 - self.distance)))


@dataclass(frozen=True)
class PersonGuess:
    person: Person | None
    confidence: float
    votes: int

    @property
    def confidence_percent(self) -> int:
        return round(100 * self.confidence)


def _faces_by_id(ids: list[int]) -> dict[int, Face]:
    faces = Face.objects.filter(pk__in=ids).select_related("photo", "person").defer("embedding", "thumbnail", "photo__thumbnail")
    return {face.pk: face for face in faces}


def face_similar(*, owner, face: Face, limit: int = 20, offset: int = 0) -> list[SimilarFace]:
    """Faces of ``owner`` nearest to ``face``, nearest first (the face itself excluded)."""
    neighbours = nearest_faces(
        owner_id=owner.pk, model_id=face.embedding_model_id, query=face.embedding,
        limit=limit, offset=offset, exclude_face_id=face.pk,
    )
    faces = _faces_by_id([n.face_id for n in neighbours])
    return [SimilarFace(faces[n.face_id], n.distance) for n in neighbours if n.face_id in faces]


def embedding_similar(*, owner, model: EmbeddingModel, embedding: np.ndarray, limit: int = 20) -> list[SimilarFace]:
    neighbours = nearest_faces(owner_id=owner.pk, model_id=model.pk, query=embedding, limit=limit)
    faces = _faces_by_id([n.face_id for n in neighbours])
    return [SimilarFace(faces[n.face_id], n.distance) for n in neighbours if n.face_id in faces]


def person_guess(
    *, owner, model: EmbeddingModel, embedding: np.ndarray, exclude_face_id: int | None = None, threshold: float | None = None
) -> PersonGuess:
    """Who is this? A distance-weighted vote of the nearest confirmed, named faces within
    ``threshold`` (default: the model's same-person distance)."""
    neighbours = nearest_faces(
        owner_id=owner.pk, model_id=model.pk, query=embedding, limit=GUESS_NEIGHBOURS,
        exclude_face_id=exclude_face_id, named_only=True,
    )
    person_of = dict(Face.objects.filter(pk__in=[n.face_id for n in neighbours]).values_list("pk", "person_id"))
    guess: Guess = knn_guess(
        [n.distance for n in neighbours], [person_of[n.face_id] for n in neighbours],
        threshold=threshold or model.same_person_threshold, k=GUESS_NEIGHBOURS,
    )
    person = Person.objects.filter(pk=guess.label, owner=owner).first() if guess.label is not None else None
    return PersonGuess(person, guess.confidence if person else 0.0, guess.votes if person else 0)


def person_search(*, owner, query: str, limit: int = 20) -> QuerySet[Person]:
    """People whose name starts with ``query``, or has a word that does; case and accents ignored."""
    key = name_key(query)
    if not key:
        return Person.objects.none()
    return (
        Person.objects.filter(owner=owner, hidden=False)
        .filter(Q(name_key__startswith=key) | Q(name_key__contains=" " + key))
        .order_by("name_key")[:limit]
    )

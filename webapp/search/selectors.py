"""Reads for "who is this?": similar faces, the k-NN guess, people by name.

Every query is scoped to one owner and one embedding model version."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet

from webapp.faces.calibration import model_calibration, same_person_distance
from webapp.faces.models import EmbeddingModel, Face
from webapp.faces.similarity import nearest_faces
from webapp.people.models import Person
# The k-NN guess is people's: it votes with the faces people counts as named.
from webapp.people.selectors import PersonGuess, name_matches, people_with_covers, person_guess  # noqa: F401 (PersonGuess, person_guess: this module's API)


@dataclass(frozen=True)
class SimilarFace:
    face: Face
    distance: float
    probability: float  # calibrated P(same person), see webapp.faces.calibration
    same_person: bool  # close enough to call it the same person
    first_beyond: bool = False  # the first face past the same-person distance: mark it

    @property
    def probability_percent(self) -> int:
        return round(100 * self.probability)


def _faces_by_id(ids: list[int]) -> dict[int, Face]:
    faces = Face.objects.filter(pk__in=ids).select_related("photo", "person").defer("embedding", "thumbnail", "photo__thumbnail")
    return {face.pk: face for face in faces}


def _similar(neighbours, model: EmbeddingModel, *, previous_same: bool = True) -> list[SimilarFace]:
    """``neighbours`` nearest first as SimilarFace; ``previous_same``: the face before the
    first one (on an earlier page) was within the same-person distance."""
    calibration = model_calibration(model)
    same_person = same_person_distance(model)
    faces = _faces_by_id([n.face_id for n in neighbours])
    items = []
    for n in neighbours:
        if n.face_id not in faces:
            continue
        same = n.distance <= same_person
        items.append(SimilarFace(faces[n.face_id], n.distance, calibration.probability(n.distance), same,
                                 first_beyond=previous_same and not same))
        previous_same = same
    return items


def face_similar(*, owner, face: Face, limit: int = 20, offset: int = 0) -> list[SimilarFace]:
    """Faces of ``owner`` nearest to ``face``, nearest first (the face itself excluded)."""
    neighbours = nearest_faces(
        owner_id=owner.pk, model_id=face.embedding_model_id, query=face.embedding,
        limit=limit + (offset > 0), offset=max(0, offset - 1), exclude_face_id=face.pk,
    )
    model = face.embedding_model
    if offset > 0 and neighbours:  # the last face of the page before: does the mark fall between pages?
        previous, neighbours = neighbours[0], neighbours[1:]
        return _similar(neighbours, model, previous_same=previous.distance <= same_person_distance(model))
    return _similar(neighbours, model)


def embedding_similar(*, owner, model: EmbeddingModel, embedding: np.ndarray, limit: int = 20) -> list[SimilarFace]:
    return _similar(nearest_faces(owner_id=owner.pk, model_id=model.pk, query=embedding, limit=limit), model)


def person_search(*, owner, query: str, limit: int = 20) -> QuerySet[Person]:
    """People whose name starts with ``query``, or has a word that does; case and accents ignored."""
    return people_with_covers(Person.objects.filter(owner=owner, hidden=False).filter(name_matches(query))).order_by("name_key")[:limit]

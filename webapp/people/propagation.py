"""Spreading names: k-NN votes from confirmed, named faces to the faces nobody confirmed.

A suggestion is a face linked to a named person with person_state "auto" and a
confidence. Suggestions never override a confirmed face, never point at a person the
face was removed from, and are recomputed whenever the evidence changes."""
from __future__ import annotations

from collections import Counter

import numpy as np

from ml.grouping.knn import knn_guess
from webapp.faces.calibration import model_calibration
from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active
from webapp.people.models import FaceRejection
from webapp.people.oplog import OperationRecorder

NEIGHBOURS = 10
# A suggestion needs votes closer than the distance at which 0.7 % of different-person
# pairs fall (the model's calibration) and a k-NN confidence of 0.3 (ml/grouping/knn.py).
# Chosen on celeba5 val naming one face per person (dlib v1) as 0.85 x the balanced-pairs
# threshold: 59.6 % of the other faces get a suggestion at 98.8 % precision (0.85/0.25:
# 69.8 % at 96.9 %; 0.7/0.35: 41.6 % at 99.5 %). On v2's val calibration that distance,
# 0.0819, has a false-accept rate of 0.68 %: the same bar, in terms every version shares.
# Suggestions are a question for the user (the review queue), so the bar is looser than
# the open-set one of "who is this?" (webapp/people/selectors.py person_guess).
NAMING_FAR = 0.007
SUGGEST_MIN_CONFIDENCE = 0.3
CHUNK = 2048


def naming_threshold(model) -> float:
    return model_calibration(model).threshold_at_far(NAMING_FAR)


def names_propagate(*, owner, recorder) -> int:
    """Recompute every name suggestion of ``owner``'s library; returns how many faces changed."""
    model = embedding_model_active()
    faces = Face.objects.filter(owner=owner, embedding_model=model)
    labelled = list(
        faces.filter(person_state=Face.PersonState.CONFIRMED, person__isnull=False).exclude(person__name="")
        .values_list("person_id", "embedding", "group_key")
    )
    open_faces = list(
        faces.exclude(person_state=Face.PersonState.CONFIRMED)
        .values_list("pk", "person_id", "person_state", "person_confidence", "embedding", "person__name", "group_key")
    )
    if not open_faces:
        return 0
    rejected: dict[int, set[int]] = {}
    for face_id, person_id in FaceRejection.objects.filter(face__owner=owner).values_list("face_id", "person_id"):
        rejected.setdefault(face_id, set()).add(person_id)

    new_state: dict[int, tuple] = {}
    if labelled:
        labels = np.array([person_id for person_id, _, _ in labelled])
        matrix = np.stack([np.asarray(e, dtype=np.float32) for _, e, _ in labelled])
        queries = np.stack([np.asarray(row[4], dtype=np.float32) for row in open_faces])
        k = min(NEIGHBOURS, len(labels))
        for start in range(0, len(open_faces), CHUNK):
            distances = 1.0 - queries[start : start + CHUNK] @ matrix.T
            nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
            nearest_distances = np.take_along_axis(distances, nearest, axis=1)
            for row, idx, dist in zip(open_faces[start : start + CHUNK], nearest, nearest_distances):
                refused = rejected.get(row[0], set())
                keep = [i for i, person in enumerate(labels[idx]) if person not in refused]
                guess = knn_guess(dist[keep], list(labels[idx][keep]), threshold=naming_threshold(model), k=k)
                if guess.label is not None and guess.confidence >= SUGGEST_MIN_CONFIDENCE:
                    new_state[row[0]] = (int(guess.label), Face.PersonState.AUTO, round(float(guess.confidence), 4))

    new_state.update(_group_suggestions(labelled, open_faces, rejected, skip=new_state))

    changes = {}
    for face_id, person_id, state, confidence, _embedding, person_name, _group in open_faces:
        if face_id in new_state:
            target = new_state[face_id]
        elif state == Face.PersonState.AUTO and person_name:
            target = (None, "", None)  # an old suggestion the evidence no longer supports
        else:
            continue  # unsorted, or grouped with an unnamed person: grouping's business
        if (person_id, state, confidence) != target:
            changes[face_id] = target
    recorder.touch_faces(changes)
    for face_id, (person_id, state, confidence) in changes.items():
        Face.objects.filter(pk=face_id).update(person_id=person_id, person_state=state, person_confidence=confidence)
    return len(changes)


def names_refresh(*, owner) -> int:
    """Recompute ``owner``'s suggestions after a change that is not an edit of theirs (a
    photo deleted, a switch of model version). Suggestions are derived data, so this is
    not an operation in the undo log: the recorder is not saved (undoing it would bring
    back votes from faces or vectors that no longer exist)."""
    return names_propagate(owner=owner, recorder=OperationRecorder())


def _group_suggestions(labelled, open_faces, rejected: dict[int, set[int]], *, skip) -> dict[int, tuple]:
    """Faces the k-NN vote leaves open, in a group (see Face.group_key) whose confirmed faces
    all carry one name, are suggested that name: naming one face of a group names the
    group. Confidence n / (n + 1) for n confirmed faces of the name in the group (one
    named face: 0.5), so the review queue still asks about them. On celeba5 test, naming
    one face per person after grouping covers 75 % of the other faces at 98.5 % precision
    (k-NN alone: 65 %; model v2, bench/people.py --skip-scale)."""
    names: dict[int, Counter] = {}
    for person_id, _embedding, group in labelled:
        if group is not None:
            names.setdefault(group, Counter())[person_id] += 1
    found = {}
    for face_id, _person, _state, _confidence, _embedding, _name, group in open_faces:
        votes = names.get(group)
        if face_id in skip or not votes or len(votes) != 1:
            continue  # no group, no named face in it, or the user gave its faces two names
        (person_id, count), = votes.items()
        if person_id not in rejected.get(face_id, set()):
            found[face_id] = (int(person_id), Face.PersonState.AUTO, round(count / (count + 1), 4))
    return found

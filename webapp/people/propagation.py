"""Spreading names: k-NN votes from confirmed, named faces to the faces nobody confirmed.

A suggestion is a face linked to a named person with person_state "auto" and a
confidence. Suggestions never override a confirmed face, never point at a person the
face was removed from, never go to a face of low quality nor count its vote
(ml/faces/quality.py: its embedding lands near strangers), and are recomputed whenever
the evidence changes: all of them after a grouping run or a model switch
(names_propagate), after an edit only those the edit can have changed
(names_propagate_near). Both gather their faces differently and
decide with the same vote (_suggest), so they agree face for face."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
from django.db import connection
from django.db.models import Count, Q, QuerySet

from ml.grouping.knn import knn_guess
from webapp.faces.calibration import model_calibration
from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active, low_quality, low_quality_flag
from webapp.faces.similarity import faces_within
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
# Voters are first picked in single precision (a matrix product here, the index in
# PostgreSQL), which is off by about 1e-6; everything within the threshold plus this
# margin is a candidate, and the vote itself is decided on float64 distances, so both
# recomputes see the same voters at the same distances.
CANDIDATE_MARGIN = 1e-3

OPEN_FIELDS = ("pk", "person_id", "person_state", "person_confidence", "embedding", "person__name", "group_key", "low")


def naming_threshold(model) -> float:
    return model_calibration(model).threshold_at_far(NAMING_FAR)


def names_propagate(*, owner, recorder) -> int:
    """Recompute every name suggestion of ``owner``'s library; returns how many faces changed."""
    model = embedding_model_active()
    faces = Face.objects.filter(owner=owner, embedding_model=model)
    open_faces = _open_rows(faces.exclude(person_state=Face.PersonState.CONFIRMED))
    if not open_faces:
        return 0
    return _suggest(
        open_faces,
        labelled=_labelled(faces),
        groups=_group_names(_evidence(faces).exclude(group_key=None)),
        rejected=_rejections(FaceRejection.objects.filter(face__owner=owner)),
        threshold=naming_threshold(model),
        recorder=recorder,
    )


def names_propagate_near(*, owner, recorder, moved: Iterable[int], edited: Iterable[int] = ()) -> int:
    """Recompute the suggestions an edit can have changed; returns how many faces changed.

    moved: faces that entered or left the evidence (confirmed faces of named people), or
    went from one named person to another. edited: other faces whose own suggestion the
    edit changed the grounds of (their rejections, their person, their person's name).
    A vote counts only neighbours within the naming threshold, so the suggestions that
    can change are the edited faces', those of open faces within the threshold of a
    moved face, and those of open faces in a moved face's group (see Face.group_key)."""
    model = embedding_model_active()
    faces = Face.objects.filter(owner=owner, embedding_model=model)
    radius = naming_threshold(model) + CANDIDATE_MARGIN
    moved_rows = list(faces.filter(pk__in=set(moved)).values_list("pk", "group_key"))
    near = faces_within(owner_id=owner.pk, model_id=model.pk, face_ids=[pk for pk, _ in moved_rows], radius=radius)
    touched = {n.face_id for neighbours in near.values() for n in neighbours} | set(edited)
    groups = {group for _, group in moved_rows if group is not None}
    open_faces = _open_rows(
        faces.exclude(person_state=Face.PersonState.CONFIRMED).filter(Q(pk__in=touched) | Q(group_key__in=groups))
    )
    if not open_faces:
        return 0
    open_ids = [row.pk for row in open_faces]
    near.update(faces_within(owner_id=owner.pk, model_id=model.pk, face_ids=[i for i in open_ids if i not in near], radius=radius))
    # Every face any search found may vote where it is close enough: a moved face that
    # few links of the index lead to is still found by its own search.
    voters = {n.face_id for neighbours in near.values() for n in neighbours}
    return _suggest(
        open_faces,
        labelled=_labelled(faces.filter(pk__in=voters)),
        groups=_group_names(_evidence(faces).filter(group_key__in={row.group_key for row in open_faces} - {None})),
        rejected=_rejections(FaceRejection.objects.filter(face_id__in=open_ids)),
        threshold=naming_threshold(model),
        recorder=recorder,
    )


def names_refresh(*, owner) -> int:
    """Recompute ``owner``'s suggestions after a change that is not an edit of theirs (a
    photo deleted, a switch of model version). Suggestions are derived data, so this is
    not an operation in the undo log: the recorder is not saved (undoing it would bring
    back votes from faces or vectors that no longer exist)."""
    return names_propagate(owner=owner, recorder=OperationRecorder())


def _open_rows(faces: QuerySet) -> list:
    return list(faces.annotate(low=low_quality_flag()).values_list(*OPEN_FIELDS, named=True))


def _evidence(faces: QuerySet) -> QuerySet:
    """Confirmed faces of named people, as webapp/people/selectors.py faces_named."""
    confirmed = faces.filter(person_state=Face.PersonState.CONFIRMED, person__isnull=False)
    return confirmed.exclude(person__name="").exclude(low_quality())


def _labelled(faces: QuerySet) -> list:
    return list(_evidence(faces).values_list("pk", "person_id", "embedding", named=True))


def _group_names(evidence: QuerySet) -> dict[int, Counter]:
    """Per group, how many of its confirmed, named faces each person has."""
    names: dict[int, Counter] = {}
    for group, person_id, count in evidence.values_list("group_key", "person_id").annotate(n=Count("pk")).order_by():
        names.setdefault(group, Counter())[person_id] = count
    return names


def _rejections(rejections: QuerySet) -> dict[int, set[int]]:
    rejected: dict[int, set[int]] = {}
    for face_id, person_id in rejections.values_list("face_id", "person_id"):
        rejected.setdefault(face_id, set()).add(person_id)
    return rejected


def _suggest(open_faces, *, labelled, groups, rejected, threshold: float, recorder) -> int:
    """The vote for ``open_faces``, given (at least) every labelled face within the
    threshold of each of them and the named faces of their groups; writes the changes.
    Faces of low quality get no suggestion (and lose any they had)."""
    eligible = [row for row in open_faces if not row.low]
    new_state = _knn_suggestions(eligible, labelled, rejected, threshold) if eligible else {}
    new_state.update(_group_suggestions(eligible, groups, rejected, skip=new_state))
    changes = {}
    for row in open_faces:
        if row.pk in new_state:
            target = new_state[row.pk]
        elif row.person_state == Face.PersonState.AUTO and row.person__name:
            target = (None, "", None)  # an old suggestion the evidence no longer supports
        else:
            continue  # unsorted, or grouped with an unnamed person: grouping's business
        if (row.person_id, row.person_state, row.person_confidence) != target:
            changes[row.pk] = target
    recorder.touch_faces(changes)
    _write(changes)
    return len(changes)


def _write(changes: dict[int, tuple]) -> None:
    """One UPDATE for every changed face (Django's bulk_update builds a CASE per row, which
    costs more than the whole vote after an edit)."""
    if not changes:
        return
    ids, people, states, confidences = zip(*((pk, *target) for pk, target in changes.items()))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE faces_face AS f SET person_id = v.person_id, person_state = v.state, person_confidence = v.confidence"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::float8[]) AS v(id, person_id, state, confidence)"
            " WHERE f.id = v.id",
            [list(ids), list(people), list(states), list(confidences)],
        )


def _knn_suggestions(open_faces, labelled, rejected: dict[int, set[int]], threshold: float) -> dict[int, tuple]:
    """Each open face's NEIGHBOURS nearest labelled faces vote (ml/grouping/knn.py), less
    those of people the face was removed from. Ties in distance go to the lower face id,
    so the vote does not depend on which or how many far faces ``labelled`` holds."""
    if not labelled:
        return {}
    ids = np.array([row.pk for row in labelled])
    labels = np.array([row.person_id for row in labelled])
    matrix = np.stack([np.asarray(row.embedding, dtype=np.float32) for row in labelled])
    queries = np.stack([np.asarray(row.embedding, dtype=np.float32) for row in open_faces])
    found = {}
    for start in range(0, len(open_faces), CHUNK):
        close = (1.0 - queries[start : start + CHUNK] @ matrix.T) < threshold + CANDIDATE_MARGIN
        for row, query, candidates in zip(open_faces[start : start + CHUNK], queries[start : start + CHUNK], close):
            idx = np.flatnonzero(candidates)
            if not len(idx):
                continue
            idx = idx[np.argsort(ids[idx])]  # in id order: ties go to the lower id
            distances = 1.0 - np.sum(matrix[idx].astype(np.float64) * query.astype(np.float64), axis=1)
            order = np.argsort(distances, kind="stable")[:NEIGHBOURS]
            nearest, distances = idx[order], distances[order]
            refused = rejected.get(row.pk, set())
            keep = [i for i, person in enumerate(labels[nearest]) if person not in refused]
            guess = knn_guess(distances[keep], list(labels[nearest][keep]), threshold=threshold, k=NEIGHBOURS)
            if guess.label is not None and guess.confidence >= SUGGEST_MIN_CONFIDENCE:
                found[row.pk] = (int(guess.label), Face.PersonState.AUTO, round(float(guess.confidence), 4))
    return found


def _group_suggestions(open_faces, groups: dict[int, Counter], rejected: dict[int, set[int]], *, skip) -> dict[int, tuple]:
    """Faces the k-NN vote leaves open, in a group (see Face.group_key) whose confirmed faces
    all carry one name, are suggested that name: naming one face of a group names the
    group. Confidence n / (n + 1) for n confirmed faces of the name in the group (one
    named face: 0.5), so the review queue still asks about them. On celeba5 test, naming
    one face per person after grouping covers 75 % of the other faces at 98.5 % precision
    (k-NN alone: 65 %; model v2, bench/people.py --skip-scale)."""
    found = {}
    for row in open_faces:
        votes = groups.get(row.group_key)
        if row.pk in skip or not votes or len(votes) != 1:
            continue  # no group, no named face in it, or the user gave its faces two names
        (person_id, count), = votes.items()
        if person_id not in rejected.get(row.pk, set()):
            found[row.pk] = (int(person_id), Face.PersonState.AUTO, round(count / (count + 1), 4))
    return found

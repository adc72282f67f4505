"""Reads for people pages: the people list, a person's faces on a timeline, the photos
with some people together, the review queue, and the k-NN guess of who a face is."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import Abs, RowNumber

from ml.grouping.knn import Guess, knn_guess
from webapp.faces.calibration import model_calibration, percent_text
from webapp.faces.models import EmbeddingModel, Face
from webapp.faces.selectors import embedding_model_active, low_quality
from webapp.faces.similarity import nearest_faces
from webapp.people.models import FaceMap, GroupingRun, Operation, Person, PersonDistinction
from webapp.people.naming import name_key
from webapp.people.propagation import SUGGEST_MIN_CONFIDENCE
from webapp.photos.models import Photo

REVIEW_BATCH = 24
REVIEW_ITEMS = 12
BUNDLE_MAX = 8
GUESS_NEIGHBOURS = 10


@dataclass(frozen=True)
class PersonGuess:
    """Who a face is, or None: nobody named is close enough for the open-set bar.

    ``closest`` is the nearest named person either way, and ``stranger_chance`` how often
    a stranger comes as close to one of the ``people_compared`` named people."""

    person: Person | None
    confidence: float
    votes: int
    closest: Person | None = None
    distance: float = float("inf")
    stranger_chance: float = 1.0
    people_compared: int = 0

    @property
    def confidence_percent(self) -> int:
        return round(100 * self.confidence)

    @property
    def stranger_percent(self) -> str:
        return percent_text(self.stranger_chance)


def faces_named(*, owner) -> QuerySet[Face]:
    """The evidence of who is who: faces the user confirmed as a person with a name.
    Suggestions are not evidence, and neither are confirmed faces of unnamed groups or of
    low quality (they stay confirmed, but their embeddings vote for strangers)."""
    confirmed = Face.objects.filter(owner=owner, person_state=Face.PersonState.CONFIRMED, person__name__gt="")
    return confirmed.exclude(low_quality())


def person_guess(
    *, owner, model: EmbeddingModel, embedding: np.ndarray, exclude_face_id: int | None = None, threshold: float | None = None
) -> PersonGuess:
    """Who is this? A distance-weighted vote of the nearest confirmed, named faces within
    ``threshold``. By default that is the open-set bar of the model's calibration: a face
    is compared with every named person, so the more people are named, the closer a match
    must be for a stranger to be named at most VISAGE_STRANGER_RATE of the time."""
    named = faces_named(owner=owner)
    neighbours = nearest_faces(
        owner_id=owner.pk, model_id=model.pk, query=embedding, limit=GUESS_NEIGHBOURS,
        exclude_face_id=exclude_face_id, among=named,
    )
    if not neighbours:
        return PersonGuess(None, 0.0, 0)
    person_of = dict(Face.objects.filter(pk__in=[n.face_id for n in neighbours]).values_list("pk", "person_id"))
    calibration = model_calibration(model)
    people = named.filter(embedding_model=model).values("person_id").distinct().count()
    if threshold is None:
        threshold = calibration.open_set_threshold(people=people, stranger_rate=settings.VISAGE_STRANGER_RATE)
    guess: Guess = knn_guess(
        [n.distance for n in neighbours], [person_of[n.face_id] for n in neighbours], threshold=threshold, k=GUESS_NEIGHBOURS,
    )
    nearest = neighbours[0]
    found = Person.objects.in_bulk([pid for pid in (guess.label, person_of[nearest.face_id]) if pid is not None])
    person = found.get(guess.label) if guess.label is not None else None
    return PersonGuess(
        person, guess.confidence if person else 0.0, guess.votes if person else 0,
        closest=found.get(person_of[nearest.face_id]), distance=nearest.distance,
        stranger_chance=calibration.stranger_chance(nearest.distance, people=people), people_compared=people,
    )


def people_with_covers(people: QuerySet[Person]) -> QuerySet[Person]:
    """``people`` with ``face_count`` and a representative face, ``cover_face_id``
    (confirmed first, then the best detection), for tiles that show a person's face."""
    cover = Face.objects.filter(person=OuterRef("pk")).order_by("-person_state", "-detection_score")
    return people.annotate(face_count=Count("faces"), cover_face_id=Subquery(cover.values("pk")[:1]))


def person_list(*, owner, hidden: bool = False, query: str = "") -> QuerySet[Person]:
    """People by size, each with a representative face; with ``query``, only those whose
    name matches it (name_matches)."""
    people = Person.objects.filter(owner=owner, hidden=hidden)
    if query:
        people = people.filter(name_matches(query))
    return people_with_covers(people).filter(Q(face_count__gt=0) | ~Q(name="")).order_by("-face_count", "name", "pk")


def name_matches(query: str) -> Q:
    """People whose name starts with ``query``, or has a word that does; case and accents
    ignored. A query with no letters matches nobody."""
    key = name_key(query)
    if not key:
        return Q(pk__in=[])
    return Q(name_key__startswith=key) | Q(name_key__contains=" " + key)


def person_with_cover(*, owner, person_id: int) -> Person | None:
    """The owner's person with ``face_count`` and ``cover_face_id`` (people_with_covers)."""
    return people_with_covers(Person.objects.filter(owner=owner, pk=person_id)).first()


def faces_chosen(*, owner, person_id: int | None = None, unsorted: bool = False, suggested: bool = False,
                 photo_id: int | None = None) -> QuerySet[Face]:
    """The owner's faces, filtered as the people pages show them: a person's (on their
    timeline), the unsorted ones (no person), the open suggestions (review order), a
    photo's (left to right); newest first otherwise. Filters combine."""
    faces = Face.objects.filter(owner=owner)
    order: list = ["-created_at", "-id"]
    if suggested:
        faces, order = _open_suggestions(owner), ["doubt", "pk"]
    if unsorted:
        faces = faces.filter(person__isnull=True)
    if photo_id is not None:
        faces, order = faces.filter(photo_id=photo_id), ["box_x0", "pk"]
    if person_id is not None:
        faces, order = faces.filter(person_id=person_id), TIMELINE
    return faces.select_related("photo", "person").defer("embedding", "thumbnail", "photo__thumbnail").order_by(*order)


def faces_not_of(*, person: Person, face_ids: list[int]) -> list[int]:
    """Those of ``face_ids`` that are not faces of ``person``, each once, in order."""
    theirs = set(person.faces.filter(pk__in=face_ids).values_list("pk", flat=True))
    return [face_id for face_id in dict.fromkeys(face_ids) if face_id not in theirs]


def face_with_person(*, owner, face_id: int) -> Face | None:
    """The owner's face with its photo and person, as the API shows one."""
    return faces_chosen(owner=owner).filter(pk=face_id).first()


def unsorted_faces(*, owner) -> QuerySet[Face]:
    return Face.objects.filter(owner=owner, person__isnull=True).select_related("photo").defer("embedding", "thumbnail").order_by("-created_at")


def person_has_faces(*, person_id: int) -> bool:
    return Face.objects.filter(person_id=person_id).exists()


def people_chosen(*, owner, person_ids) -> list[Person] | None:
    """The owner's people with these ids, in the order asked (each once), or None when one
    of them is not the owner's or does not exist."""
    wanted = list(dict.fromkeys(int(i) for i in person_ids))
    found = Person.objects.filter(owner=owner).in_bulk(wanted)
    return [found[i] for i in wanted] if len(found) == len(wanted) else None


def photos_with_people(*, owner, people: list[Person], album=None, library=None, missing: bool | None = None) -> QuerySet[Photo]:
    """The owner's photos in which every one of ``people`` has a face (the faces their
    pages show: confirmed, named or grouped), by date taken, undated last; no people: all
    the owner's photos. Narrowed to an ``album``, a ``library``, or the photos whose
    library file is (not) ``missing``, when given."""
    together = Photo.objects.filter(owner=owner)
    for person in people:  # one join per person: the photo must hold a face of each
        together = together.filter(faces__person=person)
    narrowed = {"album": album, "library": library, "missing": missing}
    together = together.filter(**{key: value for key, value in narrowed.items() if value is not None})
    # Counted outside those joins, which would count only the last person's faces.
    return (
        Photo.objects.filter(pk__in=together.values("pk")).defer("thumbnail")
        .annotate(face_count=Count("faces"))
        .order_by(F("taken_at").desc(nulls_last=True), "-created_at", "-id")
    )


# A person's faces on a timeline: by date taken, undated last.
TIMELINE = [F("photo__taken_at").desc(nulls_last=True), "-created_at", "-id"]


def person_faces(*, person: Person) -> QuerySet[Face]:
    """The person's faces on a timeline (TIMELINE)."""
    return person.faces.select_related("photo").defer("embedding", "thumbnail", "photo__thumbnail").order_by(*TIMELINE)


def _open_suggestions(owner) -> QuerySet[Face]:
    """Faces suggested a named person, most informative first: those nearest the decision
    boundary (confidence close to the suggestion bar)."""
    return (
        Face.objects.filter(owner=owner, person_state=Face.PersonState.AUTO, person__name__gt="")
        .exclude(low_quality())  # scored after it was suggested; the next recompute drops it
        .annotate(doubt=Abs(F("person_confidence") - SUGGEST_MIN_CONFIDENCE))
        .order_by("doubt", "pk")
    )


def review_queue(*, owner, limit: int = REVIEW_BATCH) -> QuerySet[Face]:
    """Open suggestions one face at a time. The page asks about them in bundles (review_items)."""
    return _open_suggestions(owner).select_related("person", "photo").defer("embedding", "thumbnail", "photo__thumbnail")[:limit]


@dataclass(frozen=True)
class ReviewItem:
    """One question of the review queue: "are these faces <person>?"."""

    person: Person
    faces: list[Face]
    reference: Face | None  # a confirmed face of the person, to compare with


def review_bundles(*, owner) -> list[list[int]]:
    """The review queue's questions as face ids, first asked first (see review_items)."""
    # Bundles are formed from ids alone (a library can hold many thousand suggestions);
    # only the faces shown are loaded.
    bundles: dict[tuple, list[int]] = {}
    loose: dict[int, list[tuple[float, int]]] = {}
    rows = _open_suggestions(owner).values_list("pk", "person_id", "group_key", "person_confidence")
    for face_id, person_id, group_key, confidence in rows:  # in the queue's order: most doubtful first
        if group_key is not None:
            bundles.setdefault((person_id, group_key), []).append(face_id)
        else:
            loose.setdefault(person_id, []).append((-(confidence or 0), face_id))
    for person_id, faces in loose.items():
        ids = [face_id for _, face_id in sorted(faces)]
        for start in range(0, len(ids), BUNDLE_MAX):
            bundles[(person_id, None, start)] = ids[start : start + BUNDLE_MAX]
    return [ids[:BUNDLE_MAX] for ids in sorted(bundles.values(), key=lambda ids: -min(len(ids), BUNDLE_MAX))]


def review_items(*, owner, limit: int = REVIEW_ITEMS) -> list[ReviewItem]:
    """Open suggestions bundled so that one answer settles as many faces as it can: the
    faces suggested one name that grouping put in one group (Face.group_key) are asked
    about together, the other faces suggested that name in bundles of up to BUNDLE_MAX,
    most confident first. The largest bundles come first; among equals, the one whose
    faces are nearest the decision bar. The user unticks the faces that are not that
    person and answers once."""
    return review_items_of(review_bundles(owner=owner)[:limit])


def review_items_of(bundles: list[list[int]]) -> list[ReviewItem]:
    """The questions of these bundles (review_bundles), with their faces loaded."""
    faces = Face.objects.select_related("person", "photo").defer("embedding", "thumbnail", "photo__thumbnail").in_bulk(
        [face_id for ids in bundles for face_id in ids]
    )
    references = _reference_faces({faces[ids[0]].person_id for ids in bundles})
    return [ReviewItem(faces[ids[0]].person, [faces[i] for i in ids], references.get(faces[ids[0]].person_id)) for ids in bundles]


def _reference_faces(person_ids: set[int]) -> dict[int, Face]:
    """A confirmed face of each person, the best detection (one row each: DISTINCT ON)."""
    return {
        face.person_id: face for face in
        Face.objects.filter(person_id__in=person_ids, person_state=Face.PersonState.CONFIRMED)
        .select_related("photo", "person").defer("embedding", "thumbnail", "photo__thumbnail").order_by("person_id", "-detection_score").distinct("person_id")
    }


def review_count(*, owner) -> int:
    return _open_suggestions(owner).count()


def operation_log(*, owner, limit: int | None = 50) -> QuerySet[Operation]:
    """The owner's operations, latest first; ``limit`` None: all of them."""
    return Operation.objects.filter(owner=owner).defer("before")[:limit]


def grouping_latest(*, owner):
    """The user's latest grouping run, with ``edited_since``: whether an edit or an undo
    came after it, so the page no longer quotes that run's counts as if they were current."""
    return _edited_since(GroupingRun.objects.filter(owner=owner).first())


def grouping_run(*, owner, run_id: int) -> GroupingRun | None:
    """One of the owner's grouping runs, with ``edited_since`` (grouping_latest)."""
    return _edited_since(GroupingRun.objects.filter(owner=owner, pk=run_id).first())


def _edited_since(run: GroupingRun | None) -> GroupingRun | None:
    if run is not None:
        after = run.finished_at
        run.edited_since = after is not None and Operation.objects.filter(owner=run.owner_id).filter(
            Q(created_at__gt=after) | Q(undone_at__gt=after)
        ).exists()
    return run


def facemap_latest(*, owner) -> FaceMap | None:
    """The owner's face map as it stands, queued or computed; None before the first ask."""
    return FaceMap.objects.filter(owner=owner).first()


def operation_undoable(*, owner) -> Operation | None:
    """The operation "Undo" would revert now."""
    return Operation.objects.filter(owner=owner, undone_at__isnull=True).defer("before").first()


# A pair of people is suggested as one person when the calibrated chance that they are is
# at least this. Chosen on validation people cut in two halves against halves of different
# people (bench/pair_suggestions.py; figures in docs/benchmarks.md). At 0.99 it offers 82 %
# of the split people of celeba5 val and 87 % of celeba_library val's (about 14 faces each),
# and 4.6e-5 and 3.6e-4 of the pairs of different people: in a 100-person library (4,950
# pairs) 0.2 and 1.8 wrong pairs against about 8 and 9 of 10 split people found. 0.9 finds
# a few more splits (93 %, 96 %) for 3.6 and 7.2 wrong pairs; the old rule (average faces
# within 1.5 x the balanced threshold) offered 58 % and 67 % of all pairs of different
# people. Each wrong pair costs the user an answer and trust in the question, so the bar
# leans towards asking less; 0.995 would miss 2-4 % more splits for a fifth to a half fewer wrong pairs.
PAIR_MIN_PROBABILITY = 0.99
PAIR_FACES_SHOWN = 4
_PAIR_BLOCK = 1024  # people compared at once: bounds the distance matrix held in memory


@dataclass(frozen=True)
class PersonPair:
    """ "Are these the same person?": two people who may be one person split in two."""

    first: Person
    second: Person
    distance: float  # average linkage: the mean distance of every face of one to every face of the other
    probability: float  # calibrated P(same person) at that distance
    first_faces: list[Face]
    second_faces: list[Face]

    @property
    def probability_percent(self) -> str:
        return percent_text(self.probability)

    @property
    def sides(self) -> list[tuple[Person, list[Face]]]:
        return [(self.first, self.first_faces), (self.second, self.second_faces)]


def person_pairs_close(*, owner, limit: int = 6, min_probability: float = PAIR_MIN_PROBABILITY) -> list[PersonPair]:
    """Pairs of people that are likely one person, most likely first; pairs the user
    already called different are left out.

    The distance between two people is the average of their face-to-face distances
    (average linkage), not the distance of their average faces: a person whose faces
    vary (a look-alike's centroid lands near many) must be close face by face. For unit
    vectors the mean of every cross pair's cosine distance is exactly 1 - mean_a . mean_b,
    so PostgreSQL averages each person's embeddings (pgvector's avg) and the page reads
    one vector per person however many faces there are."""
    model = embedding_model_active()
    rows = list(
        Face.objects.filter(owner=owner, embedding_model=model, person__isnull=False, person__hidden=False)
        .values("person_id").annotate(mean=Avg("embedding")).order_by("person_id").values_list("person_id", "mean")
    )
    if len(rows) < 2:
        return []
    ids = np.array([person_id for person_id, _ in rows])
    means = np.stack([np.asarray(mean, dtype=np.float64) for _, mean in rows])
    calibration = model_calibration(model)
    candidates = []
    for start in range(0, len(ids), _PAIR_BLOCK):
        distances = np.maximum(0.0, 1.0 - means[start : start + _PAIR_BLOCK] @ means.T)
        likely = calibration.probability(distances) >= min_probability
        likely &= np.arange(len(ids))[None, :] > np.arange(start, start + len(distances))[:, None]  # each pair once
        for row, column in zip(*np.nonzero(likely)):
            candidates.append((float(distances[row, column]), int(ids[start + row]), int(ids[column])))
    told_apart = people_told_apart(owner=owner)
    chosen = sorted(c for c in candidates if frozenset(c[1:]) not in told_apart)[:limit]
    people = Person.objects.annotate(face_count=Count("faces")).in_bulk([i for _, a, b in chosen for i in (a, b)])
    faces = _faces_shown({i for _, a, b in chosen for i in (a, b)})
    return [
        PersonPair(people[a], people[b], d, calibration.probability(d), faces.get(a, []), faces.get(b, []))
        for d, a, b in chosen
    ]


def _faces_shown(person_ids: set[int], per_person: int = PAIR_FACES_SHOWN) -> dict[int, list[Face]]:
    """Up to ``per_person`` faces of each person, confirmed first, then the best detections."""
    ranked = (
        Face.objects.filter(person_id__in=person_ids)
        .annotate(rank=Window(RowNumber(), partition_by=F("person_id"), order_by=[F("person_state").desc(), F("detection_score").desc(), F("pk")]))
        .filter(rank__lte=per_person).select_related("photo", "person")
        .defer("embedding", "thumbnail", "photo__thumbnail").order_by("person_id", "rank")
    )
    shown: dict[int, list[Face]] = {}
    for face in ranked:
        shown.setdefault(face.person_id, []).append(face)
    return shown


def people_told_apart(*, owner) -> set[frozenset[int]]:
    """The pairs of people the user said are not the same ("No, never ask again")."""
    return {frozenset(pair) for pair in PersonDistinction.objects.filter(first__owner=owner).values_list("first_id", "second_id")}

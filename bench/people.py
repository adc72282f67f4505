"""Grouping and naming quality on celeba5/test, and grouping speed at scale.

    .venv/bin/python bench/people.py [--skip-scale] [--reviews 100] [--checkpoint dlib_resnet_v1.pt]

Quality: imports celeba5/test (928 people x 5 faces) as one user's library with the
import command (database visage_bench_people; with ``--checkpoint FILE``, a registered
model's file in models/, visage_bench_people_<FILE without .pt>, where that model embeds
everything; by default the active one, on a new database the mirror-averaged
``dlib_resnet_v1_mirror.pt``), then for HDBSCAN and agglomerative runs the
grouping service and scores it against the true people (pairwise precision/recall/F1,
BCubed F, share unsorted); names one face per person through the naming service the
pages use and scores the suggested names, once from k-NN votes alone and once after the
automatic grouping (the app's flow after an import); answers review-queue items by the
true labels and prints how coverage grows per answer. Scale: grouping time of ml.grouping.cluster
on 10k, 30k and 100k synthetic face-like embeddings, the whole grouping service on
synthetic libraries (--service-sizes), the time to assign one new face, and the time of
one naming action on synthetic libraries (--naming-sizes) against a full recompute of the
suggestions, which every action ran before. Only the naming times, with no celeba import:

    .venv/bin/python -u bench/people.py --skip-quality --checkpoint dlib_resnet_v1.pt --scale-sizes --service-sizes

Grouping on libraries with realistic sizes, from embeddings cached once per model
(bench/libraries.py: celeba5, celeba_library, longtail), grouped by the app's grouping
(webapp.people.grouping.grouping_labels, before and after the merge step) and, on the
same embeddings, as the peers document theirs (bench/peer_grouping.py):

    .venv/bin/python -u bench/people.py --library celeba_library --split val
    .venv/bin/python -u bench/people.py --library longtail --split test
    .venv/bin/python -u bench/people.py --library celeba5
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import bench_model_use, celeba_test_library, faces_copy, old_layout_index, search_index_create, search_index_drop, use_bench_database  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=100)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--scale-sizes", type=int, nargs="*", default=[10_000, 30_000, 100_000])
    parser.add_argument("--service-sizes", type=int, nargs="*", default=[100_000],
                        help="libraries of this many synthetic faces grouped by the whole service")
    parser.add_argument("--naming-sizes", type=int, nargs="*", default=[10_000, 100_000],
                        help="libraries of this many synthetic faces named through the services")
    parser.add_argument("--naming-actions", type=int, default=30)
    parser.add_argument("--layout-baseline", action="store_true",
                        help="also time the grouping service (--service-sizes) with the vector index back on faces_face")
    parser.add_argument("--profile", action="store_true",
                        help="profile the grouping service (--service-sizes) and print where its time goes")
    parser.add_argument("--library", choices=["celeba5", "celeba_library", "longtail"],
                        help="only grouping quality on this library of cached embeddings, every method side by side")
    parser.add_argument("--split", choices=["val", "test"], default="val", help="the celeba_library half (--library)")
    parser.add_argument("--checkpoint", help="the registered model to group with, by its file in models/ (default: the active one)")
    return parser.parse_args()


# Parsed before django.setup(): each model gets its own database, so the synthetic
# libraries (whose faces have no photo to re-embed from) never need a model switch.
ARGS = parse_args()
use_bench_database("visage_bench_people" + (f"_{Path(ARGS.checkpoint).stem}" if ARGS.checkpoint else ""))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from ml.grouping.cluster import group_embeddings, knn_graph, pairwise_scores  # noqa: E402
from webapp.faces.models import Face  # noqa: E402
from webapp.faces.selectors import embedding_model_active  # noqa: E402
from webapp.people import services  # noqa: E402
from webapp.people.grouping import faces_group  # noqa: E402
from webapp.people.models import FaceRejection, Operation, Person  # noqa: E402
from webapp.people.naming import name_key  # noqa: E402
from webapp.people.oplog import OperationRecorder  # noqa: E402
from webapp.people.propagation import names_propagate  # noqa: E402
from webapp.people.selectors import review_queue  # noqa: E402
from webapp.photos.models import Photo  # noqa: E402
from webapp.search.selectors import person_guess  # noqa: E402


def library(owner) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    rows = list(Face.objects.filter(owner=owner).values_list("pk", "photo__original_name"))
    truth = {pk: Path(name).name.split("_")[0] for pk, name in rows}
    ids = np.array([pk for pk, _ in rows])
    return ids, np.array([truth[i] for i in ids]), truth


def reset(owner) -> None:
    Face.objects.filter(owner=owner).update(person=None, person_state="", person_confidence=None, group_key=None)
    FaceRejection.objects.filter(face__owner=owner).delete()
    Person.objects.filter(owner=owner).delete()
    Operation.objects.filter(owner=owner).delete()


def grouping_quality(owner, ids, labels) -> None:
    for method in ("hdbscan", "agglomerative"):
        reset(owner)
        start = time.perf_counter()
        faces_group(owner=owner, method=method)
        seconds = time.perf_counter() - start
        person = dict(Face.objects.filter(owner=owner).values_list("pk", "person_id"))
        predicted = np.array([person[i] if person[i] is not None else -1 for i in ids])
        scores = pairwise_scores(predicted, labels)
        print(f"   {method:<13} precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  F1 {scores['f1']:.3f}  "
              f"BCubed F {scores['bcubed_f']:.3f}  unsorted {100 * scores['unsorted_share']:.1f} %  ({seconds:.1f} s)")


def library_grouping(model, kind: str, split: str) -> None:
    """Every method on one library of cached embeddings; then how the 20 largest people
    are spread (groups + faces unsorted) by each."""
    from bench import peer_grouping as peers
    from bench.libraries import groups_per_person, library_build
    from webapp.faces.calibration import model_calibration, same_person_distance
    from webapp.people.grouping import grouping_labels

    lib = library_build(kind, split, checkpoint=settings.MODELS_DIR / model.checkpoint, data=Path(settings.FACES_DATA_DIR))
    x, truth, photos = lib.embeddings, lib.labels, lib.photo_ids
    calibration = model_calibration(model)
    sizes = np.unique(truth, return_counts=True)[1]
    print(f"library {lib.name}: {len(x):,} faces of {len(sizes):,} people (largest {sizes.max()}, "
          f"{int((sizes == 1).sum())} with one face), model v{model.version} ({model.checkpoint})")
    # Peers' distances moved to our scale (see bench/peer_grouping.py): Immich's and
    # PhotoPrism's networks are not here to calibrate, so their default is read as the
    # same-person bar of their network and placed at ours (FAR 1e-3), and shown at 1e-5 too;
    # LibrePhotos runs dlib, as we do: its Euclidean epsilon is scaled by our balanced
    # threshold (in Euclidean on unit vectors) over dlib's documented 0.6.
    far3, far5 = same_person_distance(model), calibration.threshold_at_far(1e-5)
    libre_eps = peers.LIBREPHOTOS_EPSILON * np.sqrt(2 * calibration.even_odds_distance()) / 0.6
    methods = {
        "Visage before (HDBSCAN + centre cut)": lambda: group_embeddings(x, photos, method="hdbscan", threshold=model.same_person_threshold),
        "Visage now (+ average-linkage merge)": lambda: grouping_labels(model, x, photos, method="hdbscan"),
        "plain HDBSCAN (no pruning)": lambda: peers.plain_hdbscan(x),
        f"LibrePhotos-style HDBSCAN (eps {libre_eps:.3f})": lambda: peers.librephotos(x, epsilon=libre_eps),
        f"Immich-style (0.5 -> {far3:.3f}, FAR 1e-3)": lambda: peers.immich(x, max_distance=far3),
        f"Immich-style (0.5 -> {far5:.3f}, FAR 1e-5)": lambda: peers.immich(x, max_distance=far5),
        f"PhotoPrism-style DBSCAN ({far3:.3f})": lambda: peers.photoprism(x, eps=far3),
        f"PhotoPrism-style DBSCAN ({far5:.3f})": lambda: peers.photoprism(x, eps=far5),
    }
    if len(x) <= 15_000:  # O(n^2) memory
        methods["Visage agglomerative (unchanged)"] = lambda: group_embeddings(x, photos, method="agglomerative", threshold=model.same_person_threshold)
    print(f"{'method':<46} {'pair P':>7} {'pair R':>7} {'F1':>6} {'B3 P':>6} {'B3 R':>6} {'B3 F':>6} {'unsorted':>9} {'time':>7}")
    spread = {}
    for name, run in methods.items():
        start = time.perf_counter()
        labels = np.asarray(run())
        seconds = time.perf_counter() - start
        s = pairwise_scores(labels, truth)
        print(f"{name:<46} {s['precision']:>7.3f} {s['recall']:>7.3f} {s['f1']:>6.3f} {s['bcubed_precision']:>6.3f} "
              f"{s['bcubed_recall']:>6.3f} {s['bcubed_f']:>6.3f} {100 * s['unsorted_share']:>8.1f}% {seconds:>6.1f}s", flush=True)
        spread[name] = groups_per_person(labels, truth)
    print("\ngroups per true person, 20 largest (groups + faces unsorted):")
    names = list(spread)
    print(f"{'person':<8} {'faces':>5}  " + "  ".join(f"{i + 1:>7}" for i in range(len(names))))
    for row in range(len(spread[names[0]])):
        person, faces = spread[names[0]][row][:2]
        print(f"{person:<8} {faces:>5}  " + "  ".join(f"{spread[n][row][2]:>3}+{spread[n][row][3]:<3}" for n in names))
    print("columns: " + "; ".join(f"{i + 1} {n}" for i, n in enumerate(names)))


def naming_quality(owner, truth: dict[int, str], reviews: int, *, grouped: bool) -> None:
    """grouped: run the automatic grouping first, as the app does once an import settles."""
    reset(owner)
    if grouped:
        faces_group(owner=owner, method="hdbscan")
    first_face: dict[str, int] = {}
    for face_id in sorted(truth):
        first_face.setdefault(truth[face_id], face_id)
    start = time.perf_counter()
    for name, face_id in first_face.items():
        services.faces_name(owner=owner, face_ids=[face_id], name=name)
    seconds = time.perf_counter() - start
    named = set(first_face.values())

    def scores() -> tuple[float, float, int]:
        rows = Face.objects.filter(owner=owner).exclude(pk__in=named).values_list("pk", "person__name", "person_state")
        suggested = [(pk, name) for pk, name, state in rows if state == Face.PersonState.AUTO and name]
        correct_suggested = sum(truth[pk] == name for pk, name in suggested)
        correct_total = sum(truth[pk] == name for pk, name, state in rows if name)
        precision = correct_suggested / max(1, len(suggested))
        return precision, len(suggested) / max(1, len(rows)), correct_total

    precision, coverage, correct = scores()
    total = len(truth) - len(named)
    print(f"   named 1 face per person ({len(named)} names, {seconds:.0f} s): suggestions cover {100 * coverage:.1f} % "
          f"of the other faces at {100 * precision:.1f} % precision")
    print(f"   correct names after naming: {correct} of {total} faces ({100 * correct / total:.1f} %)")
    coverage_bound(owner, truth, named)
    for answered in range(1, reviews + 1):
        item = review_queue(owner=owner, limit=1).first()
        if item is None:
            break
        services.suggestions_answer(owner=owner, face_ids=[item.pk], accept=truth[item.pk] == item.person.name)
        if answered in (10, 25, 50, 100) or answered == reviews:
            _p, _c, now_correct = scores()
            print(f"   after {answered:>3} review answers: {now_correct} correct ({100 * now_correct / total:.1f} %), "
                  f"+{(now_correct - correct) / answered:.2f} correctly named faces per answer")


def coverage_bound(owner, truth: dict[int, str], named: set[int], precision: float = 0.98) -> None:
    """How far any rule that names a face after its closest person could take coverage.

    For each face left without a suggestion, the person (named or suggested faces) with the
    closest face is the best guess such a rule can make. Even with a perfect confidence
    measure it could add only the faces whose best guess is right, plus as many wrong
    ones as ``precision`` allows; that is printed as the coverage ceiling of the model."""
    rows = list(Face.objects.filter(owner=owner).values_list("pk", "person__name", "person_state", "embedding"))
    evidence = [(name, e) for pk, name, state, e in rows if name and (pk in named or state == Face.PersonState.AUTO)]
    open_rows = [(pk, e) for pk, name, state, e in rows if pk not in named and not (state == Face.PersonState.AUTO and name)]
    if not evidence or not open_rows:
        return
    names = np.array([name for name, _ in evidence])
    distances = 1.0 - np.stack([e for _, e in open_rows]) @ np.stack([e for _, e in evidence]).T
    right = int(sum(truth[pk] == names[i] for (pk, _), i in zip(open_rows, distances.argmin(axis=1))))
    suggested = len(rows) - len(named) - len(open_rows)
    correct = sum(truth[pk] == name for pk, name, state, _ in rows if pk not in named and state == Face.PersonState.AUTO and name)
    reachable = min(len(rows) - len(named), (correct + right) / precision)
    print(f"   {len(open_rows)} faces left open; the closest named or suggested face has the right name for {right} "
          f"({100 * right / len(open_rows):.1f} %): coverage at {100 * precision:.0f} % precision can reach at most "
          f"{100 * reachable / (len(rows) - len(named)):.1f} % (now {100 * suggested / (len(rows) - len(named)):.1f} %)")


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def synthetic_library(n: int, rng, noise: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """(n, 128) face-like unit embeddings of people with 5-50 faces, and their identities.
    noise 0.3: same-identity cosine distance about 0.08; 0.2: about 0.035."""
    sizes = rng.integers(5, 51, n // 20)
    identity = np.repeat(np.arange(len(sizes)), sizes)[:n]
    common = unit(rng.normal(size=128))
    centres = unit(common + 0.55 * unit(rng.normal(size=(len(sizes), 128))))
    x = unit(centres[identity] + noise * rng.normal(size=(len(identity), 128)) / np.sqrt(128)).astype(np.float32)
    return x, identity


def scale(owner, sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    for n in sizes:
        x, identity = synthetic_library(n, rng)
        photos = np.arange(len(x))
        for method in ("hdbscan", "agglomerative") if n <= 30_000 else ("hdbscan",):
            start = time.perf_counter()
            # The synthetic same-identity distance is about 0.08: the threshold a model
            # calibrated on such data would choose is about 0.25.
            labels = group_embeddings(x, photos, method=method, threshold=0.25)
            seconds = time.perf_counter() - start
            scores = pairwise_scores(labels[:3000], identity[:3000])
            print(f"   {len(x):>7,} faces {method:<13} {seconds:6.1f} s  (precision {scores['precision']:.3f}, recall {scores['recall']:.3f} on a 3,000-face sample)")

def synthetic_owner(n: int):
    """A user with n synthetic faces, one photo each, loaded with COPY (kept between runs),
    and the identity of each face in photo order. The faces get the active model's scale
    (v1: same person about 0.035 apart, as real v1 pairs, docs/model.md), so its
    thresholds apply. Seeded by n: a library loaded by an earlier run holds the same faces."""
    from django.db import connection
    from pgvector.psycopg import register_vector

    from webapp.photos.models import Album

    model = embedding_model_active()
    owner, _ = get_user_model().objects.get_or_create(username=f"bench-scale-{n}")
    x, identity = synthetic_library(n, np.random.default_rng(n), noise=0.2)
    if Face.objects.filter(owner=owner).count() != n:
        Photo.objects.filter(owner=owner).delete()
        album, _ = Album.objects.get_or_create(owner=owner, name="synthetic")
        photos = Photo.objects.bulk_create(
            Photo(owner=owner, album=album, file="bench.jpg", original_name=f"{i}.jpg", content_hash=f"scale-{i}",
                  size_bytes=0, image_format="jpeg", status=Photo.Status.DONE) for i in range(n)
        )
        with connection.cursor() as cursor:
            search_index_drop(cursor)
        raw = connection.connection
        register_vector(raw)
        faces_copy(raw, ((photo.pk, owner.pk, model.pk, vector) for photo, vector in zip(photos, x)))
        raw.commit()
        with connection.cursor() as cursor:
            search_index_create(cursor)
    return owner, identity


def service_scale(sizes: list[int]) -> None:
    """The whole grouping service (read embeddings, cluster, write people, undo log, name
    suggestions) on a synthetic library of n faces."""
    for n in sizes:
        owner, identity = synthetic_owner(n)
        reset(owner)
        profiler = cProfile.Profile() if ARGS.profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        result = faces_group(owner=owner, method="hdbscan")
        seconds = time.perf_counter() - start
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            update_cost(owner)
        truth = dict(zip(Photo.objects.filter(owner=owner).order_by("pk").values_list("pk", flat=True), identity))
        rows = list(Face.objects.filter(owner=owner).values_list("photo_id", "person_id"))
        predicted = np.array([p if p is not None else -1 for _, p in rows])
        scores = pairwise_scores(predicted[:3000], np.array([truth[photo] for photo, _ in rows[:3000]]))
        print(f"   {n:>7,} faces: grouping service end to end {seconds:6.1f} s ({result.groups:,} people, "
              f"{result.unsorted_faces:,} faces unsorted; precision {scores['precision']:.3f}, recall "
              f"{scores['recall']:.3f} on 3,000 faces)", flush=True)
        if ARGS.layout_baseline:
            old_layout_index(create=True)
            try:
                reset(owner)
                start = time.perf_counter()
                faces_group(owner=owner, method="hdbscan")
                print(f"   {n:>7,} faces: the same service with the HNSW index on faces_face, as before migration "
                      f"faces 0013 (baseline): {time.perf_counter() - start:6.1f} s", flush=True)
            finally:
                old_layout_index(create=False)
        # The clustering step alone on the same faces, without and with the merge step.
        from webapp.people.grouping import grouping_labels

        model = embedding_model_active()
        x, _ = synthetic_library(n, np.random.default_rng(n), noise=0.2)
        for name, run in (("HDBSCAN + centre cut (before)", lambda: group_embeddings(x, np.arange(n), method="hdbscan", threshold=model.same_person_threshold)),
                          ("+ average-linkage merge (now)", lambda: grouping_labels(model, x, np.arange(n), method="hdbscan"))):
            start = time.perf_counter()
            run()
            print(f"      clustering step only, {name}: {time.perf_counter() - start:.1f} s", flush=True)
        graphs = {}
        for name, bfloat16 in (("float32 products (before)", False), ("bfloat16 candidates, exact float32 ranks (now)", True)):
            start = time.perf_counter()
            graphs[name] = knn_graph(x, bfloat16=bfloat16)
            print(f"      its exact 15-NN graph, {name}: {time.perf_counter() - start:.1f} s", flush=True)
        before, now = graphs.values()
        only_one = ((before != 0).astype(np.int8) != (now != 0).astype(np.int8)).nnz
        both = before.multiply(now != 0)
        off = abs(both - now.multiply(before != 0)).max()
        print(f"      edges in one graph only: {only_one:,} of {before.nnz:,}; largest weight difference of a shared "
              f"edge {off:.1e}", flush=True)


def update_cost(owner, faces: int = 1000) -> None:
    """What one face UPDATE costs in faces_face as it is (no vector index: it lives on
    faces_facesearchvector) and with an HNSW index on faces_face.embedding, the layout
    before migration faces 0013 (the baseline): 1,000 faces each, an unindexed column
    changed, in a transaction rolled back."""
    from django.db import transaction

    ids = list(Face.objects.filter(owner=owner).order_by("pk").values_list("pk", flat=True)[: 2 * faces])
    timings = {}
    with transaction.atomic():
        for name, part in (("as it is", ids[:faces]), ("with the HNSW index in faces_face (before)", ids[faces:])):
            if name != "as it is":
                old_layout_index(create=True)
            start = time.perf_counter()
            Face.objects.filter(pk__in=part).update(person_confidence=0.5)
            timings[name] = time.perf_counter() - start
        transaction.set_rollback(True)
    print("   UPDATE of one unindexed column on 1,000 faces: "
          + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in timings.items()), flush=True)


def naming_speed(sizes: list[int], actions: int) -> None:
    """One naming action on a synthetic library (see synthetic_named_library), each kind in
    turn, through the services the pages call: what the user waits for after a click.
    The baseline is a full recompute of the suggestions, measured in the same run; the
    first one after the actions also checks that they left what a full recompute gives."""
    kinds = ("review answer", "name a face", "reject", "name a group", "remove a face")
    for n in sizes:
        owner, identity = synthetic_owner(n)
        start = time.perf_counter()
        synthetic_named_library(owner, identity)
        setup = time.perf_counter() - start
        rng = np.random.default_rng(0)
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for i in range(actions):
            kind = kinds[i % len(kinds)]
            action = naming_action(owner, kind, rng)
            start = time.perf_counter()
            action()
            times[kind].append(1000 * (time.perf_counter() - start))
        full = []
        for _ in range(2):
            start = time.perf_counter()
            changed = names_propagate(owner=owner, recorder=OperationRecorder())
            full.append((time.perf_counter() - start, changed))
        every = [t for ts in times.values() for t in ts]
        print(f"   {n:>7,} faces ({setup:.0f} s to set up): one naming action p50 {np.percentile(every, 50):.0f} ms, "
              f"p95 {np.percentile(every, 95):.0f} ms over {len(every)}; full recompute {full[0][0]:.2f} s / {full[1][0]:.2f} s "
              f"(the first changed {full[0][1]} faces: 0 = the actions left exactly what a full recompute gives)", flush=True)
        for kind, ts in times.items():
            print(f"      {kind:<14} p50 {np.percentile(ts, 50):5.0f} ms  max {max(ts):5.0f} ms", flush=True)


def synthetic_named_library(owner, identity: np.ndarray) -> None:
    """The library as after a grouping run and some naming, without running either: 80 %
    of the people grouped (their faces suggested to an unnamed person, its group), 30 %
    named with two confirmed faces each; then one full recompute of the suggestions."""
    reset(owner)
    rng = np.random.default_rng(1)
    faces = np.array(Face.objects.filter(owner=owner).order_by("photo_id").values_list("pk", flat=True))
    people = sorted(set(identity.tolist()))
    grouped = set(rng.choice(people, int(0.8 * len(people)), replace=False).tolist())
    named = set(rng.choice(people, int(0.3 * len(people)), replace=False).tolist())
    names = [f"Person {p}" if p in named else "" for p in people]
    persons = Person.objects.bulk_create(Person(owner=owner, name=name, name_key=name_key(name)) for name in names)
    for p, person in zip(people, persons):
        members = faces[identity == p].tolist()
        if p in grouped:
            Face.objects.filter(pk__in=members).update(person=person, person_state=Face.PersonState.AUTO, group_key=person.pk)
        if p in named:
            Face.objects.filter(pk__in=members[:2]).update(person=person, person_state=Face.PersonState.CONFIRMED)
    names_propagate(owner=owner, recorder=OperationRecorder())


def naming_action(owner, kind: str, rng):
    """The edit a user makes with one click, chosen (not timed) on the library as it is."""
    def pick(queryset):
        ids = list(queryset.values_list("pk", flat=True)[:500])
        return ids[rng.integers(len(ids))]

    suggested = Face.objects.filter(owner=owner, person_state=Face.PersonState.AUTO, person__name__gt="")
    if kind == "review answer":  # a bundle of the review queue: five ticked, one not
        person_id = Face.objects.get(pk=pick(suggested)).person_id
        bundle = list(suggested.filter(person_id=person_id).values_list("pk", flat=True)[:6])
        return lambda: services.suggestions_settle(owner=owner, confirm_ids=bundle[:-1], reject_ids=bundle[-1:])
    if kind == "name a face":
        face = pick(Face.objects.filter(owner=owner, person__isnull=True))
        return lambda: services.faces_name(owner=owner, face_ids=[face], name=f"Named {face}")
    if kind == "reject":
        face = pick(suggested)
        return lambda: services.suggestions_answer(owner=owner, face_ids=[face], accept=False)
    if kind == "name a group":
        person = pick(Person.objects.filter(owner=owner, name="", faces__isnull=False).distinct())
        return lambda: services.person_rename(owner=owner, person_id=person, name=f"Group {person}")
    face = pick(Face.objects.filter(owner=owner, person_state=Face.PersonState.CONFIRMED, person__name__gt=""))
    return lambda: services.faces_remove(owner=owner, face_ids=[face])


def assign_speed(owner) -> None:
    model = embedding_model_active()
    face = Face.objects.filter(owner=owner).first()
    times = []
    for _ in range(50):
        start = time.perf_counter()
        person_guess(owner=owner, model=model, embedding=face.embedding, exclude_face_id=face.pk)
        times.append((time.perf_counter() - start) * 1000)
    print(f"   assigning one new face (k-NN on the HNSW index): p50 {np.percentile(times, 50):.1f} ms, p95 {np.percentile(times, 95):.1f} ms")


def main() -> None:
    args = ARGS
    call_command("migrate", verbosity=0)
    settings.VISAGE_AUTO_GROUP = False
    if args.library:
        from webapp.faces.models import EmbeddingModel

        model = EmbeddingModel.objects.get(checkpoint=args.checkpoint) if args.checkpoint else embedding_model_active()
        library_grouping(model, args.library, args.split)
        return
    owner, _ = get_user_model().objects.get_or_create(username="bench-people")
    if args.checkpoint:  # before the import: the library is embedded with it
        bench_model_use(args.checkpoint, owner=owner)
    if not args.skip_quality or (not args.skip_scale and args.scale_sizes):
        celeba_test_library(owner)
        ids, labels, truth = library(owner)
        print(f"library: {len(ids)} faces of {len(set(labels))} people (celeba5/test, model v{embedding_model_active().version})")
    if not args.skip_quality:
        print("\n== grouping quality")
        grouping_quality(owner, ids, labels)
        print("\n== naming quality, k-NN votes only (no grouping run before naming)")
        naming_quality(owner, truth, 0, grouped=False)
        print("\n== naming quality after the automatic grouping (the app's flow after an import)")
        naming_quality(owner, truth, args.reviews, grouped=True)
    if not args.skip_scale:
        if args.scale_sizes:
            print("\n== scale")
            assign_speed(owner)
            scale(owner, args.scale_sizes)
        if args.service_sizes:
            print("\n== grouping service at scale")
            service_scale(args.service_sizes)
        if args.naming_sizes:
            print(f"\n== naming at scale (model v{embedding_model_active().version})")
            naming_speed(args.naming_sizes, args.naming_actions)


if __name__ == "__main__":
    main()

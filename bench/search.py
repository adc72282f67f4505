"""Similar-face search at scale: latency and recall of the selector the pages use.

    .venv/bin/python bench/search.py --sizes 100000 1000000

Loads synthetic, face-like embeddings with COPY into a separate database (visage_bench on
the embedded server, or BENCH_DATABASE_URL): identities of 5-50 faces, unit vectors
scattered around identity centres that share a common direction, as real face embeddings
do (printed: same-identity and different-identity cosine distances), spread over 10 users.
Builds the HNSW index after loading (timed), then measures p50/p95 latency of a top-20
`face_similar` query for random users (the same selector the pages and the API call) and
recall@10 against exact search (index off) for several ef_search values.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USERS = 10
DIM = 128


from bench.picks import query_picks  # noqa: E402
from bench.benchdb import SEARCH_INDEX, faces_copy, old_layout_index, search_index_create, search_index_drop, use_bench_database  # noqa: E402

use_bench_database("visage_bench")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from pgvector.psycopg import register_vector  # noqa: E402

from webapp.faces.models import Face  # noqa: E402
from webapp.faces.selectors import embedding_model_active  # noqa: E402
from webapp.faces.similarity import EF_SEARCH, nearest_faces, vector_literal  # noqa: E402
from webapp.photos.models import Album, Photo  # noqa: E402
from webapp.search.selectors import face_similar  # noqa: E402


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def synthetic_faces(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, 128) float32 unit embeddings and (n,) identity ids."""
    common = unit(rng.normal(size=DIM))
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(5, 51)))
    sizes[-1] -= sum(sizes) - n
    identity = np.repeat(np.arange(len(sizes)), sizes)
    centres = unit(common + 0.55 * unit(rng.normal(size=(len(sizes), DIM))))
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 200_000):
        ids = identity[start : start + 200_000]
        out[start : start + len(ids)] = unit(centres[ids] + 0.3 * rng.normal(size=(len(ids), DIM)) / np.sqrt(DIM))
    return out, identity


def describe(vectors: np.ndarray, identity: np.ndarray, rng) -> str:
    sample = rng.choice(len(vectors), 2000, replace=False)
    v, ids = vectors[sample], identity[sample]
    dist = 1 - v @ v.T
    same = (ids[:, None] == ids[None, :]) & ~np.eye(len(v), dtype=bool)
    # Same-identity pairs are rare in a random sample: measure them inside identities.
    first = np.flatnonzero(np.r_[True, identity[1:] != identity[:-1]])[:300]
    intra = [1 - vectors[i] @ vectors[i + 1] for i in first]
    return (f"same identity {np.mean(intra):.3f}, different {dist[~same & ~np.eye(len(v), dtype=bool)].mean():.3f} "
            f"(1st percentile {np.percentile(dist[~same & ~np.eye(len(v), dtype=bool)], 1):.3f}) mean cosine distance")


def ensure_owners() -> tuple[list, list]:
    User = get_user_model()
    owners, photos = [], []
    for index in range(USERS):
        user, _ = User.objects.get_or_create(username=f"bench-user-{index}")
        album, _ = Album.objects.get_or_create(owner=user, name="bench")
        photo, _ = Photo.objects.get_or_create(
            owner=user, content_hash=f"bench-{index}",
            defaults={"album": album, "file": "bench.jpg", "original_name": "bench.jpg", "size_bytes": 0,
                      "image_format": "jpeg", "status": Photo.Status.DONE},
        )
        owners.append(user)
        photos.append(photo)
    return owners, photos


def load(vectors: np.ndarray, identity: np.ndarray, owners, photos, model_id: int, rng) -> None:
    raw = connection.connection
    register_vector(raw)
    # A person belongs to one user's library, as in real life.
    user_of = rng.integers(0, USERS, identity.max() + 1)[identity]
    faces_copy(raw, ((photos[u].pk, owners[u].pk, model_id, vector) for vector, u in zip(vectors, user_of)))
    raw.commit()


def build_index() -> tuple[float, int]:
    with connection.cursor() as cursor:
        search_index_drop(cursor)
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        start = time.perf_counter()
        search_index_create(cursor, memory="2GB")
        elapsed = time.perf_counter() - start
        cursor.execute("ANALYZE faces_facesearchvector")
        cursor.execute(f"SELECT pg_relation_size('{SEARCH_INDEX}')")
        return elapsed, cursor.fetchone()[0]


def measure(owners, queries: int, ef_values: list[int], rng, *, layout_baseline: bool = False) -> None:
    model = embedding_model_active()
    face_ids = {owner.pk: list(Face.objects.filter(owner=owner).order_by("pk").values_list("pk", flat=True))
                for owner in owners}
    picks = [(owner, Face.objects.get(pk=face_id)) for owner, face_id in query_picks(owners, face_ids, queries, rng)]
    truth = {
        face.pk: [n.face_id for n in nearest_faces(owner_id=owner.pk, model_id=model.pk, query=face.embedding,
                                                     limit=10, exclude_face_id=face.pk, exact=True)]
        for owner, face in picks
    }
    exact_times = []
    for owner, face in picks[:20]:
        start = time.perf_counter()
        nearest_faces(owner_id=owner.pk, model_id=model.pk, query=face.embedding, limit=20, exclude_face_id=face.pk, exact=True)
        exact_times.append((time.perf_counter() - start) * 1000)
    print(f"   exact search (baseline, index off): p50 {np.percentile(exact_times, 50):.1f} ms")
    import webapp.faces.similarity as similarity

    for ef in ef_values:
        similarity.EF_SEARCH = ef
        face_similar(owner=picks[0][0], face=picks[0][1], limit=20)  # warm the cache
        times, recalls = [], []
        for owner, face in picks:
            start = time.perf_counter()
            found = face_similar(owner=owner, face=face, limit=20)
            times.append((time.perf_counter() - start) * 1000)
            top10 = [item.face.pk for item in found[:10]]
            recalls.append(len(set(top10) & set(truth[face.pk])) / max(1, len(truth[face.pk])))
        p50, p95 = np.percentile(times, [50, 95])
        print(f"   ef_search {ef:>3}: top-20 p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"({np.percentile(exact_times, 50) / p50:.0f}x faster than exact), recall@10 {np.mean(recalls):.4f}")
    similarity.EF_SEARCH = EF_SEARCH
    if layout_baseline:
        layout_compare(picks, model.pk)


def layout_compare(picks, model_id: int) -> None:
    """The index scan alone (the statement nearest_faces runs, at EF_SEARCH), the same
    queries on the search table now and on the layout before migration faces 0013: an
    HNSW index on faces_face, built for this and dropped again."""
    statements = {
        "faces_facesearchvector (now)": "SELECT face_id, embedding <=> %s::vector FROM faces_facesearchvector"
        " WHERE owner_id = %s AND embedding_model_id = %s AND face_id <> %s ORDER BY embedding <=> %s::vector LIMIT 20",
        "faces_face (before, baseline)": "SELECT id, embedding <=> %s::vector FROM faces_face"
        " WHERE owner_id = %s AND embedding_model_id = %s AND id <> %s ORDER BY embedding <=> %s::vector LIMIT 20",
    }
    old_layout_index(create=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE faces_face")
        for name, sql in statements.items():
            times = []
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'strict_order', true)",
                               [str(EF_SEARCH)])
                for owner, face in picks:
                    vector = vector_literal(face.embedding)
                    start = time.perf_counter()
                    cursor.execute(sql, [vector, owner.pk, model_id, face.pk, vector])
                    cursor.fetchall()
                    times.append((time.perf_counter() - start) * 1000)
            p50, p95 = np.percentile(times, [50, 95])
            print(f"   index scan alone, ef_search {EF_SEARCH}, {name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    finally:
        old_layout_index(create=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", type=int, nargs="+", default=[40, 100, 200])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure-only", action="store_true", help="reuse the loaded faces and index (after a full run)")
    parser.add_argument("--layout-baseline", action="store_true",
                        help="also time the index scan on faces_face with the vector index there, as before migration faces 0013")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    call_command("migrate", verbosity=0)
    owners, photos = ensure_owners()
    model = embedding_model_active()
    if args.measure_only:
        if not Face.objects.exists():
            raise SystemExit("no faces loaded yet: run once without --measure-only")
        print(f"reusing {Face.objects.count():,} faces and their index")
        measure(owners, args.queries, args.ef, rng, layout_baseline=args.layout_baseline)
        return
    Face.objects.all().delete()
    loaded = offset = 0
    for size in sorted(args.sizes):
        vectors, identity = synthetic_faces(size - loaded, rng)
        if loaded == 0:
            print(f"synthetic data: {describe(vectors, identity, rng)}")
        with connection.cursor() as cursor:
            search_index_drop(cursor)
        start = time.perf_counter()
        load(vectors, identity + offset, owners, photos, model.pk, rng)
        offset += identity.max() + 1
        loaded = size
        print(f"\n== {size:,} faces, {USERS} users: COPY of {len(vectors):,} rows in {time.perf_counter() - start:.1f} s")
        seconds, index_bytes = build_index()
        print(f"   HNSW build (m=16, ef_construction=64) {seconds:.1f} s, index size {index_bytes / 2**20:.0f} MiB")
        measure(owners, args.queries, args.ef, rng, layout_baseline=args.layout_baseline)


if __name__ == "__main__":
    main()

"""Nearest-neighbour queries on the HNSW index, scoped to one owner and one model version.

They scan faces_facesearchvector, the trigger-kept copy of each face's vector that carries
the index (webapp/faces/models.py FaceSearchVector says why it is a table of its own).

pgvector's iterative index scan keeps walking the graph until the filtered top-k is full,
so a user whose faces are 1 % of the table still gets a complete answer.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.db.models import QuerySet

from webapp.faces.models import Face, FaceSearchVector

VECTORS = FaceSearchVector._meta.db_table

# 150 candidates per query: on 1M faces of 10 users (bench/search.py) recall@10 is 0.989
# at p95 11 ms, where 100 reaches only 0.979 and 200 buys no recall for 20 % more time;
# iterative scans extend the search when the per-user filter removes candidates.
EF_SEARCH = 150
MAX_SCAN_TUPLES = 50_000
# faces_within: rows per index scan at first (a person's faces within the naming threshold
# number about 35 in bench/people.py's libraries), doubled while the radius goes on, with
# as many candidates (ef_search) as rows; a search gone astray is tried again with
# RANGE_RETRY_EF. A radius holding more than RANGE_MAX_ROWS faces is cheaper to answer
# with an exact scan.
RANGE_FIRST_ROWS = 64
RANGE_RETRY_EF = 400
RANGE_MAX_ROWS = 1024
# A library this small is answered by exact scans: they cost a few milliseconds there, and
# an index scan can miss faces, more so in a table whose index still holds many deleted
# rows (the propagation after an edit must then agree with a full recompute).
RANGE_EXACT_LIBRARY = 5000

@dataclass(frozen=True)
class Neighbour:
    face_id: int
    distance: float


def nearest_faces(
    *,
    owner_id: int,
    model_id: int,
    query: Sequence[float] | np.ndarray,
    limit: int,
    offset: int = 0,
    exclude_face_id: int | None = None,
    among: QuerySet | None = None,
    ef_search: int | None = None,
    exact: bool = False,
) -> list[Neighbour]:
    """The ``limit`` faces nearest to ``query`` (cosine distance), nearest first.

    ``among``: only faces of this queryset of Face, for rules other apps own (people's
    named faces); it joins the index scan as a filter, so the iterative scan still
    fills the top-k. exact=True disables the index: the ground truth for recall
    measurements."""
    vector = vector_literal(query)
    where = ["owner_id = %s", "embedding_model_id = %s"]
    params: list = [owner_id, model_id]
    if exclude_face_id is not None:
        where.append("face_id <> %s")
        params.append(exclude_face_id)
    if among is not None:
        subquery, subquery_params = among.order_by().values("pk").query.sql_with_params()
        where.append(f"face_id IN ({subquery})")
        params.extend(subquery_params)
    sql = (
        f"SELECT face_id, embedding <=> %s::vector AS distance FROM {VECTORS} "
        f"WHERE {' AND '.join(where)} ORDER BY embedding <=> %s::vector LIMIT %s OFFSET %s"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if exact:
            cursor.execute("SET LOCAL enable_indexscan = off")
        else:
            _index_scan_settings(cursor, ef=max(ef_search or EF_SEARCH, limit + offset))
        cursor.execute(sql, [vector, *params, vector, limit, offset])
        return [Neighbour(face_id, float(distance)) for face_id, distance in cursor.fetchall()]


def vector_literal(vector: Sequence[float] | np.ndarray) -> str:
    """A vector as pgvector's text form, for a ``%s::vector`` parameter."""
    return "[" + ",".join(f"{float(x):.7g}" for x in np.asarray(vector, dtype=np.float32)) + "]"


def faces_within(*, owner_id: int, model_id: int, face_ids: Sequence[int], radius: float) -> dict[int, list[Neighbour]]:
    """For each of ``face_ids`` (faces of this owner and model), every face of theirs
    within ``radius`` (cosine distance), the face itself included, nearest first.

    One statement runs an index scan per face (LATERAL), again with twice the rows for
    the faces whose last row is still inside the radius. HNSW is approximate, and on
    tightly clustered faces a whole small cluster can be out of reach of the search (on
    bench/people.py's 100k-face library, 4 in 1,500 searches at ef_search 150 found
    neither the face nor its cluster): a search that misses its own face went astray. It
    is tried again with more candidates, and then, like a radius too full for index
    scans, answered by an exact scan. Faces a search misses while it finds its own face
    stay missed: faces few links of the graph lead to, 1 in 1,500 to 15,000 of the faces
    in a radius on bench/people.py's 10k- and 100k-face libraries. A library of at most
    RANGE_EXACT_LIBRARY faces is answered by exact scans only."""
    found: dict[int, list[Neighbour]] = {}
    queries = sorted({int(i) for i in face_ids})
    small = not Face.objects.filter(owner_id=owner_id, embedding_model_id=model_id)[RANGE_EXACT_LIBRARY:].exists()
    with transaction.atomic(), connection.cursor() as cursor:
        pending, astray, rows = ([] if small else queries), [], RANGE_FIRST_ROWS
        while pending and rows <= RANGE_MAX_ROWS:
            pending, lost = _range_scan(cursor, owner_id, model_id, pending, radius, rows=rows, ef=rows, into=found)
            astray += lost
            rows *= 2
        if astray:
            _range_scan(cursor, owner_id, model_id, astray, radius, rows=RANGE_FIRST_ROWS, ef=RANGE_RETRY_EF, into=found)
        exact = [i for i in queries if i not in found]
        if exact:
            cursor.execute(
                f"SELECT q.face_id, f.face_id, f.embedding <=> q.embedding AS distance FROM {VECTORS} q JOIN {VECTORS} f"
                " ON f.owner_id = q.owner_id AND f.embedding_model_id = q.embedding_model_id"
                " AND f.embedding <=> q.embedding < %s"
                " WHERE q.face_id = ANY(%s) AND q.owner_id = %s AND q.embedding_model_id = %s ORDER BY q.face_id, distance",
                [radius, exact, owner_id, model_id],
            )
            for query_id, face_id, distance in cursor.fetchall():
                found.setdefault(query_id, []).append(Neighbour(face_id, float(distance)))
    return found


def _range_scan(cursor, owner_id: int, model_id: int, face_ids: list[int], radius: float, *, rows: int, ef: int,
                into: dict[int, list[Neighbour]]) -> tuple[list[int], list[int]]:
    """One index scan of ``rows`` rows per face; the complete answers go ``into`` the
    dict. Returns the faces whose radius goes on past these rows, and those whose
    search went astray (it did not find the face itself)."""
    _index_scan_settings(cursor, ef=max(ef, rows))
    cursor.execute(
        f"SELECT q.face_id, n.face_id, n.distance FROM {VECTORS} q CROSS JOIN LATERAL ("
        f" SELECT f.face_id, f.embedding <=> q.embedding AS distance FROM {VECTORS} f"
        " WHERE f.owner_id = %s AND f.embedding_model_id = %s ORDER BY f.embedding <=> q.embedding LIMIT %s"
        ") n WHERE q.face_id = ANY(%s) AND q.owner_id = %s AND q.embedding_model_id = %s ORDER BY q.face_id, n.distance",
        [owner_id, model_id, rows, face_ids, owner_id, model_id],
    )
    scanned: dict[int, list[Neighbour]] = {}
    for query_id, face_id, distance in cursor.fetchall():
        scanned.setdefault(query_id, []).append(Neighbour(face_id, float(distance)))
    longer, astray = [], []
    for query_id, neighbours in scanned.items():
        if len(neighbours) == rows and neighbours[-1].distance < radius:
            longer.append(query_id)
        elif any(n.face_id == query_id for n in neighbours):
            into[query_id] = [n for n in neighbours if n.distance < radius]
        else:
            astray.append(query_id)
    return longer, astray


def _index_scan_settings(cursor, *, ef: int) -> None:
    """HNSW settings for the rest of the transaction: ``ef`` candidates, iterative scans."""
    cursor.execute(
        "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'strict_order', true),"
        " set_config('hnsw.max_scan_tuples', %s, true)",
        [str(ef), str(MAX_SCAN_TUPLES)],
    )

"""The grouping other self-hosted photo apps do, as they document it, re-implemented on
our embeddings so that every method sees the same faces (bench/people.py --library).

Their distances belong to other networks, so each is moved to our model's scale by a
stated rule (``PeerScale``); the rule and the resulting distance are printed with the
figures. Labels: -1 unsorted, as ml.grouping.cluster.
"""
from __future__ import annotations

import numpy as np

from ml.grouping.cluster import hdbscan_on_knn_graph

# Immich (docs.immich.app, Facial Recognition; server defaults): faces within
# maxDistance 0.5 cosine of its ArcFace (buffalo_l) embeddings, minFaces 3.
IMMICH_MAX_DISTANCE, IMMICH_MIN_FACES = 0.5, 3
# PhotoPrism (docs.photoprism.app, face recognition): DBSCAN with
# PHOTOPRISM_FACE_CLUSTER_DIST 0.64 (Euclidean, 512-D FaceNet) and a core of
# PHOTOPRISM_FACE_CLUSTER_CORE 4 faces.
PHOTOPRISM_DIST, PHOTOPRISM_CORE = 0.64, 4
# LibrePhotos (api/face_classify.py, api/models/user.py): HDBSCAN on all faces,
# Euclidean on dlib's 128-D descriptors, min_samples 1, cluster_selection_epsilon 0.05,
# min_cluster_size 2 / 4 / 8 / 16 above 1k / 10k / 100k faces.
LIBREPHOTOS_EPSILON = 0.05


def immich(x: np.ndarray, *, max_distance: float, min_faces: int = IMMICH_MIN_FACES, seed: int = 0) -> np.ndarray:
    """Immich's incremental DBSCAN: faces are taken one at a time (in upload order, here
    a seeded shuffle). A face with at least ``min_faces`` faces (itself included) within
    ``max_distance`` is a core face: it joins the person of the nearest of those that has
    one, else of the nearest face with a person within reach, else starts a person. Other
    faces are deferred and, at the end, join the person of the nearest face with one
    within reach, or stay unsorted."""
    order = np.random.default_rng(seed).permutation(len(x))
    near = _within(x, max_distance)
    person = np.full(len(x), -1)
    deferred, people = [], 0
    for face in order:
        neighbours = near[face]
        if len(neighbours) + 1 < min_faces:
            deferred.append(face)
            continue
        assigned = neighbours[person[neighbours] >= 0]
        if len(assigned):
            person[face] = person[assigned[0]]
        else:
            person[face], people = people, people + 1
    for face in deferred:
        assigned = near[face][person[near[face]] >= 0]
        if len(assigned):
            person[face] = person[assigned[0]]
    return person


def photoprism(x: np.ndarray, *, eps: float, core: int = PHOTOPRISM_CORE) -> np.ndarray:
    """DBSCAN with a cosine radius ``eps`` and ``core`` faces (itself included) for a core."""
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=eps, min_samples=core, metric="cosine", algorithm="brute").fit_predict(x)


def librephotos(x: np.ndarray, *, epsilon: float) -> np.ndarray:
    """HDBSCAN on all faces, min_samples 1, LibrePhotos' size rule; from the k-NN graph's
    MST, which ml.grouping.cluster checks equals HDBSCAN on all pairs (min_samples 1)."""
    n = len(x)
    min_cluster_size = 16 if n > 100_000 else 8 if n > 10_000 else 4 if n > 1000 else 2
    return hdbscan_on_knn_graph(x, min_cluster_size=min_cluster_size, cluster_selection_epsilon=epsilon)


def plain_hdbscan(x: np.ndarray) -> np.ndarray:
    """Our HDBSCAN (min cluster size 2) before any of our pruning or merging."""
    return hdbscan_on_knn_graph(x, min_cluster_size=2)


def _within(x: np.ndarray, radius: float, block: int = 2048) -> list[np.ndarray]:
    """For each face, the other faces within ``radius`` cosine distance, nearest first."""
    out = []
    for start in range(0, len(x), block):
        distance = 1.0 - x[start : start + block] @ x.T
        for row, d in enumerate(distance):
            hits = np.flatnonzero(d <= radius)
            hits = hits[hits != start + row]
            out.append(hits[np.argsort(d[hits], kind="stable")])
    return out

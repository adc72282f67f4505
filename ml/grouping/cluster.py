"""Grouping face embeddings into people, respecting "two faces of one photo are two people".

Pure numpy/scikit-learn/hdbscan: embeddings in, labels out (-1 = left unsorted)."""
from __future__ import annotations

from typing import Literal

import numpy as np

from ml.grouping.merge import ATTACH_MIN_SIZE, MERGE_MARGIN, attach_unsorted, merge_clusters

Method = Literal["hdbscan", "agglomerative"]
# Grouping is stricter than "same person?": a wrong merge is the worst fault, so clusters are
# cut at half the same-person distance (agglomerative) and every member must lie within
# 0.28 of it from its cluster's centre (both methods). Chosen on celeba5 val (907 people,
# dlib v1): HDBSCAN's pairwise precision rises from 0.93 to 0.983 while recall falls from
# 0.73 to 0.66 (0.25: 0.990 / 0.57; 0.30: 0.979 / 0.69).
AGGLOMERATIVE_CUT = 0.5
CLUSTER_RADIUS = 0.28
# HDBSCAN with min_samples=1 is single linkage on the minimum spanning tree, and MST edges
# join near neighbours: built from each face's 15 nearest neighbours it gives exactly the
# grouping of HDBSCAN on all pairs on celeba5 test (precision 0.983 / recall 0.657 both), 10x
# faster, and keeps all 128 dimensions where the earlier PCA-32 shortcut cost precision
# (0.974) above 5,000 faces. 100k faces: bench/people.py.
KNN_K = 15
KNN_BLOCK = 2048
# bfloat16 keeps 8 significant bits: each component is off by at most 2^-8 of itself, so
# the product of two unit vectors is off by at most 2^-7 (sum |x_i y_i| <= 1), plus float32
# summation. 64 candidates leave that margin to all but a few faces of a crowd (knn_graph).
BFLOAT16_ERROR = 2.0**-7 + 1e-5
KNN_CANDIDATES = 64


def group_embeddings(
    embeddings: np.ndarray,
    photo_ids: np.ndarray,
    *,
    method: Method = "hdbscan",
    threshold: float,
    min_cluster_size: int = 2,
    merge_distance: float | None = None,
    attach_distance: float | None = None,
    merge_margin: float = MERGE_MARGIN,
    attach_min_size: int = ATTACH_MIN_SIZE,
    attach_gap: float = 0.0,
) -> np.ndarray:
    """(N,) int cluster labels for (N, D) unit embeddings; -1 for faces left unsorted.

    threshold: the model's same-person cosine distance; see AGGLOMERATIVE_CUT and
    CLUSTER_RADIUS for how grouping uses it. merge_distance / attach_distance: where
    given, the tight clusters are then joined by average linkage and the faces left over
    attached to them (ml.grouping.merge; ``merge_margin``, ``attach_min_size`` and ``attach_gap`` as there). Afterwards no
    cluster keeps two faces of the same photo (see ``split_same_photo``)."""
    n = len(embeddings)
    if n != len(photo_ids):
        raise ValueError(f"{n} embeddings but {len(photo_ids)} photo ids")
    if n < max(2, min_cluster_size):
        return np.full(n, -1, dtype=int)
    labels = tight_clusters(embeddings, method=method, threshold=threshold, min_cluster_size=min_cluster_size)
    return clusters_joined(labels, embeddings, photo_ids, merge_distance=merge_distance, attach_distance=attach_distance,
                           merge_margin=merge_margin, attach_min_size=attach_min_size, attach_gap=attach_gap)


def tight_clusters(embeddings: np.ndarray, *, method: Method = "hdbscan", threshold: float, min_cluster_size: int = 2) -> np.ndarray:
    """The first step of ``group_embeddings``: its clusters before any join (and before
    the same-photo split). Apart so a sweep of the join settings (bench/fused_grouping.py)
    clusters once."""
    x = np.asarray(embeddings, dtype=np.float64)
    if method == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=AGGLOMERATIVE_CUT * threshold
        ).fit_predict(x)
        sizes = np.bincount(labels)
        labels = np.where(sizes[labels] >= min_cluster_size, labels, -1)
    elif method == "hdbscan":
        labels = hdbscan_on_knn_graph(x, min_cluster_size=max(2, min_cluster_size))
    else:
        raise ValueError(f"unknown grouping method {method!r}: use 'hdbscan' or 'agglomerative'")
    return prune_loose_members(labels, x, CLUSTER_RADIUS * threshold)


def clusters_joined(labels: np.ndarray, embeddings: np.ndarray, photo_ids: np.ndarray, *, merge_distance: float | None,
                    attach_distance: float | None, merge_margin: float = MERGE_MARGIN,
                    attach_min_size: int = ATTACH_MIN_SIZE, attach_gap: float = 0.0) -> np.ndarray:
    """The second step of ``group_embeddings``: ``tight_clusters``' labels joined
    (ml.grouping.merge; a step whose distance is None is skipped), then no two faces of
    one photo left in a cluster."""
    unit = np.asarray(embeddings, dtype=np.float64)
    if merge_distance is not None:
        labels = merge_clusters(labels, unit, photo_ids, merge_distance, margin=merge_margin)
    if attach_distance is not None:
        labels = attach_unsorted(labels, unit, photo_ids, attach_distance, min_size=attach_min_size, gap=attach_gap)
    return split_same_photo(labels, unit, np.asarray(photo_ids))


def knn_graph(x: np.ndarray, k: int = KNN_K, *, bfloat16: bool | None = None):
    """Symmetric (N, N) scipy CSR graph of each unit vector's k nearest neighbours, weighted by
    Euclidean distance (sqrt(2 * cosine distance): it orders like cosine). Exact search,
    as blocked matrix products and top-k on the CPU through torch.

    Where bfloat16 products are native (``_bfloat16_is_fast``) the blocks are computed in
    bfloat16 (1.4x faster on 100k faces here; bench/people.py times both) to pick
    KNN_CANDIDATES candidates per face, which are then ranked by exact float32 products. The result is still exact: a bfloat16 similarity of
    two unit vectors is within BFLOAT16_ERROR of the exact one, so a face whose last
    candidate scored lower than its k-th exact similarity by more than that cannot have
    missed a neighbour; the few faces without that margin (in a crowd of near-equal
    neighbours) are searched again in float32. ``bfloat16``: force either way (the
    benchmark's baseline); default where native."""
    import torch
    from scipy import sparse

    n, k = len(x), min(k, len(x) - 1)
    vectors = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if bfloat16 is None:
        bfloat16 = _bfloat16_is_fast()
    coarse = vectors.to(torch.bfloat16) if bfloat16 else None
    candidates = min(KNN_CANDIDATES, n - 1)
    neighbours = np.empty((n, k), np.int64)
    similarity = np.empty((n, k), np.float32)
    with torch.inference_mode():
        for start in range(0, n, KNN_BLOCK):
            rows = torch.arange(start, min(start + KNN_BLOCK, n))
            if coarse is None:
                values, indices = _top_k(vectors[rows], vectors, rows, k)
            else:
                rough, picked = _top_k(coarse[rows], coarse, rows, candidates)
                exact = torch.einsum("rd,rcd->rc", vectors[rows], vectors[picked])
                values, at = torch.topk(exact, k, dim=1)
                indices = torch.gather(picked, 1, at)
                unsure = torch.nonzero(rough[:, -1].float() + BFLOAT16_ERROR >= values[:, -1]).flatten()
                if candidates < n - 1 and len(unsure):
                    values[unsure], indices[unsure] = _top_k(vectors[rows[unsure]], vectors, rows[unsure], k)
            neighbours[rows.numpy()] = indices.numpy()
            similarity[rows.numpy()] = values.numpy()
    # A tiny floor keeps identical faces as an edge: sparse matrices drop explicit zeros.
    distance = np.sqrt(np.maximum(2.0 - 2.0 * similarity.astype(np.float64), 0.0)) + 1e-9
    graph = sparse.csr_matrix((distance.ravel(), (np.repeat(np.arange(n), k), neighbours.ravel())), shape=(n, n))
    return graph.maximum(graph.T).tocsr()


def _top_k(queries, vectors, rows, k: int):
    """The k largest similarities of ``queries`` (the vectors at ``rows``) to ``vectors``,
    each query's own column left out, and their columns."""
    import torch

    block = queries @ vectors.T
    block[torch.arange(len(rows)), rows] = -2.0  # not its own neighbour
    return torch.topk(block, k, dim=1)


def _bfloat16_is_fast() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); elsewhere
    torch emulates it, slower than float32."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def hdbscan_on_knn_graph(x: np.ndarray, *, min_cluster_size: int, cluster_selection_epsilon: float = 0.0) -> np.ndarray:
    """HDBSCAN (min_samples=1, excess-of-mass selection) from the MST of the k-NN graph.

    Uses hdbscan's own tree code (``label``, ``_tree_to_labels``; pinned version, and
    tests/ml/test_cluster.py checks the result against ``hdbscan.HDBSCAN``). Parts of the
    graph that no k-NN edge joins are linked just above the longest edge, where the MST
    on all pairs would join them too: a far larger weight would make every such part one
    very stable cluster. ``cluster_selection_epsilon`` (Euclidean, as hdbscan's) is for
    the peers' grouping in bench/peer_grouping.py."""
    from hdbscan._hdbscan_linkage import label
    from hdbscan.hdbscan_ import _tree_to_labels
    from scipy.sparse import csgraph, csr_matrix

    graph = knn_graph(x)
    parts, part_of = csgraph.connected_components(graph, directed=False)
    if parts > 1:
        roots = np.unique(part_of, return_index=True)[1]
        weight = np.full(parts - 1, graph.data.max() * 1.05)
        bridge = csr_matrix((weight, (roots[:-1], roots[1:])), shape=graph.shape)
        graph = (graph + bridge + bridge.T).tocsr()
    tree = csgraph.minimum_spanning_tree(graph).tocoo()
    edges = np.column_stack([tree.row, tree.col, tree.data]).astype(np.float64)
    edges = edges[np.argsort(edges[:, 2], kind="mergesort")]
    return _tree_to_labels(None, label(edges), min_cluster_size=min_cluster_size,
                           cluster_selection_epsilon=cluster_selection_epsilon)[0]


def prune_loose_members(labels: np.ndarray, embeddings: np.ndarray, radius: float, rounds: int = 2) -> np.ndarray:
    """Leave unsorted every member farther than ``radius`` (cosine) from its cluster's
    centre; repeat since the centre moves. Clusters reduced to one face are dissolved."""
    labels = labels.copy()
    for _ in range(rounds):
        for label in np.unique(labels[labels >= 0]):
            members = np.flatnonzero(labels == label)
            centre = embeddings[members].mean(axis=0)
            centre /= max(np.linalg.norm(centre), 1e-12)
            labels[members[1 - embeddings[members] @ centre > radius]] = -1
            if (labels == label).sum() < 2:
                labels[labels == label] = -1
    return labels


def split_same_photo(labels: np.ndarray, embeddings: np.ndarray, photo_ids: np.ndarray) -> np.ndarray:
    """Within each cluster keep, per photo, only the face nearest the cluster centre;
    the others are left unsorted. Clusters reduced to one face are dissolved."""
    labels = labels.copy()
    for label in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == label)
        centre = embeddings[members].mean(axis=0)
        distance = 1 - embeddings[members] @ centre / max(np.linalg.norm(centre), 1e-12)
        seen: set = set()
        for index in members[np.argsort(distance)]:
            if photo_ids[index] in seen:
                labels[index] = -1
            else:
                seen.add(photo_ids[index])
        if (labels == label).sum() < 2:
            labels[labels == label] = -1
    return labels


def pairwise_scores(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Pairwise precision/recall/F1 and BCubed precision/recall/F of a grouping against
    true identities, from the table of (group, person) counts (no N x N matrix, so a
    library of 100k faces scores in one go).

    Unsorted faces (-1) form no pairs; they count as singletons for BCubed."""
    predicted = np.asarray(predicted)
    n = len(predicted)
    singleton = np.arange(n) + predicted.max(initial=0) + 1
    group = np.unique(np.where(predicted >= 0, predicted, singleton), return_inverse=True)[1]
    person = np.unique(np.asarray(truth), return_inverse=True)[1]
    cells, joint = np.unique(np.stack([group, person]), axis=1, return_counts=True)
    group_sizes, person_sizes = np.bincount(group), np.bincount(person)
    pairs = lambda sizes: float((sizes * (sizes - 1.0)).sum())  # noqa: E731  ordered pairs of distinct faces
    precision = pairs(joint) / max(1.0, pairs(group_sizes))
    recall = pairs(joint) / max(1.0, pairs(person_sizes))
    # Each face of a (group, person) cell shares both with the cell's faces.
    b_precision = float((joint**2 / group_sizes[cells[0]]).sum() / max(1, n))
    b_recall = float((joint**2 / person_sizes[cells[1]]).sum() / max(1, n))
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "bcubed_precision": b_precision,
        "bcubed_recall": b_recall,
        "bcubed_f": 2 * b_precision * b_recall / max(b_precision + b_recall, 1e-12),
        "unsorted_share": float((predicted < 0).mean()) if n else 0.0,
    }

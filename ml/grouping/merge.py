"""Joining the tight clusters of one person: average linkage between clusters.

HDBSCAN and the centre-radius cut (ml.grouping.cluster) find tight, precise clusters, but
a person with many photos comes out as several of them plus loose faces. Two clusters of
one person are close face by face; two look-alikes may have one close pair but not all.
So clusters are joined while the average of every cross pair's cosine distance (average
linkage) stays below a calibrated bar, closest pair first, and then each face left over
joins the cluster whose faces are on average within a bar of it. For unit vectors that
average is exactly ``1 - mean_a . mean_b``, so a cluster is held as the sum of its vectors.
Two faces of one photo never end in one cluster: such a join is skipped.
"""
from __future__ import annotations

import heapq

import numpy as np

# Bars as calibrated P(same person) of the average distance (the model's calibration turns
# them into distances), chosen on celeba_library val: see docs/benchmarks.md.
MERGE_PROBABILITY = 0.99
ATTACH_PROBABILITY = 0.99
BLOCK = 2048


def merge_clusters(labels: np.ndarray, embeddings: np.ndarray, photo_ids: np.ndarray, max_distance: float) -> np.ndarray:
    """Agglomerate the clusters of ``labels`` (-1: unsorted, left alone) by average
    linkage up to ``max_distance``; merged clusters take the smallest label of their parts.

    Exact and sparse: a merged cluster's average distance to another is the size-weighted
    mean of its parts' distances, so it can only fall below the bar where one part's did.
    The pairs below the bar at the start are therefore the only ones ever worth checking."""
    labels = np.asarray(labels).copy()
    ids = np.unique(labels[labels >= 0])
    if len(ids) < 2:
        return labels
    grouped = labels >= 0
    part = np.searchsorted(ids, labels[grouped])
    capacity = 2 * len(ids)  # each merge makes one new cluster
    sums = np.zeros((capacity, embeddings.shape[1]))
    np.add.at(sums, part, np.asarray(embeddings, dtype=np.float64)[grouped])
    counts = np.zeros(capacity)
    counts[: len(ids)] = np.bincount(part, minlength=len(ids))
    photos: list[set] = [set() for _ in range(capacity)]
    for index, photo in zip(part, np.asarray(photo_ids)[grouped]):
        photos[index].add(photo)
    neighbours: list[set[int]] = [set() for _ in range(capacity)]
    heap: list[tuple[float, int, int]] = []
    means = sums[: len(ids)] / counts[: len(ids), None]
    for start in range(0, len(ids), BLOCK):
        distance = 1.0 - means[start : start + BLOCK] @ means.T
        for row, column in zip(*np.nonzero(distance < max_distance)):
            a = start + row
            if a < column:
                heap.append((float(distance[row, column]), a, int(column)))
                neighbours[a].add(int(column))
                neighbours[column].add(a)
    heapq.heapify(heap)
    alive = np.zeros(capacity, dtype=bool)
    alive[: len(ids)] = True
    merged_into = np.arange(capacity)
    new = len(ids)
    while heap:
        _distance, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or photos[a] & photos[b]:
            continue
        alive[a] = alive[b] = False
        alive[new] = True
        merged_into[a] = merged_into[b] = new
        sums[new], counts[new] = sums[a] + sums[b], counts[a] + counts[b]
        photos[new] = photos[a] | photos[b]
        neighbours[new] = {c for c in neighbours[a] | neighbours[b] if alive[c]}
        mean = sums[new] / counts[new]
        for c in neighbours[new]:
            neighbours[c] -= {a, b}
            neighbours[c].add(new)
            distance = 1.0 - mean @ (sums[c] / counts[c])
            if distance < max_distance:
                heapq.heappush(heap, (float(distance), new, c))
        new += 1
    root = np.arange(capacity)
    for index in range(capacity - 1, -1, -1):  # a merge always points to a later cluster
        root[index] = root[merged_into[index]] if merged_into[index] != index else index
    first_label = {}
    for index in range(len(ids)):
        first_label.setdefault(root[index], ids[index])
    labels[grouped] = [first_label[root[index]] for index in part]
    return labels


def attach_unsorted(labels: np.ndarray, embeddings: np.ndarray, photo_ids: np.ndarray, max_distance: float) -> np.ndarray:
    """Each unsorted face joins the cluster whose faces are, on average, nearest to it,
    when that average distance is below ``max_distance`` and the cluster holds no other
    face of its photo. Clusters are those of ``labels``: faces attached do not move them."""
    labels = np.asarray(labels).copy()
    ids = np.unique(labels[labels >= 0])
    loose = np.flatnonzero(labels < 0)
    if not len(ids) or not len(loose):
        return labels
    x = np.asarray(embeddings, dtype=np.float64)
    part = np.searchsorted(ids, labels[labels >= 0])
    means = np.zeros((len(ids), x.shape[1]))
    np.add.at(means, part, x[labels >= 0])
    means /= np.bincount(part, minlength=len(ids))[:, None]
    taken = set(zip(labels[labels >= 0].tolist(), np.asarray(photo_ids)[labels >= 0].tolist()))
    for start in range(0, len(loose), BLOCK):
        faces = loose[start : start + BLOCK]
        distance = 1.0 - x[faces] @ means.T
        nearest = distance.argmin(axis=1)
        for face, cluster, d in zip(faces, nearest, distance[np.arange(len(faces)), nearest]):
            label = int(ids[cluster])
            if d < max_distance and (label, photo_ids[face]) not in taken:
                labels[face] = label
                taken.add((label, photo_ids[face]))
    return labels

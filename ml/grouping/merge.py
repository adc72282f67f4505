"""Joining the tight clusters of one person: average linkage between clusters.

HDBSCAN and the centre-radius cut (ml.grouping.cluster) find tight, precise clusters, but
a person with many photos comes out as several of them plus loose faces. Two clusters of
one person are close face by face; two look-alikes may have one close pair but not all.
So clusters are joined while the average of every cross pair's cosine distance (average
linkage) stays below a calibrated bar, closest pair first, and then each face left over
joins the cluster whose faces are on average within a bar of it. For unit vectors that
average is exactly ``1 - mean_a . mean_b``, so a cluster is held as the sum of its vectors.
Two faces of one photo never end in one cluster: such a join is skipped.

The bar alone is not enough: celeba_library holds a handful of look-alikes whose faces
are 0.045 apart on average, closer than half the people are to themselves (0.048), so
two clusters are also joined only if their faces are barely farther from each other than
from their own cluster's (MERGE_MARGIN). Both checked on celeba_library val (490 people,
up to 30 faces) and celeba5 val (907 x 5), model v2, pairwise precision / recall:

| rule | celeba_library val | celeba5 val |
|---|---|---|
| before (HDBSCAN + centre cut) | 0.998 / 0.462 | 0.983 / 0.668 |
| bar P(same) >= 0.99 only, attach to any cluster | 0.839 / 0.852 | 0.916 / 0.800 |
| + margin 0.01 | 0.989 / 0.700 | 0.950 / 0.755 |
| + margin 0.01, attach to clusters of >= 6 faces (chosen) | 0.994 / 0.674 | 0.979 / 0.670 |
| same, attach to >= 4 | 0.994 / 0.683 | 0.966 / 0.718 |

Rule: the highest celeba_library val recall at precision >= 0.99 there that keeps celeba5
val precision within 0.005 of before. A face attached to a small cluster is where
look-alikes go wrong (celeba5), hence ATTACH_MIN_SIZE. A wider margin (0.015-0.02) lets
the look-alikes through: celeba_library val precision 0.86-0.90 (measured with an earlier
variant of the attach rule).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, fields

import numpy as np

# Bars as calibrated P(same person) of the average distance (the model's calibration turns
# them into distances), chosen on celeba_library val: see docs/benchmarks.md.
MERGE_PROBABILITY = 0.99
ATTACH_PROBABILITY = 0.99
MERGE_MARGIN = 0.01  # cross average minus the mean of the two clusters' own averages
# The margin moves with a model's distance scale as the bars do (theirs come from its
# calibration): a share of the merge distance, MERGE_MARGIN at the 0.99 bar where it was
# chosen, dlib v2's (models/dlib_resnet_v1_mirror.calibration.json). bench/fused_grouping.py
# scales it the same way, by the 0.99 distances of the calibrations it fits itself.
CHOSEN_AT_MERGE_DISTANCE = 0.06305
MERGE_MARGIN_SHARE = MERGE_MARGIN / CHOSEN_AT_MERGE_DISTANCE
ATTACH_MIN_SIZE = 6
BLOCK = 2048


@dataclass(frozen=True)
class JoinSettings:
    """How one model's clusters are joined, relative to its calibration. A model whose
    settings were chosen for it (bench/fused_grouping.py, on celeba_library val and
    celeba5 val) carries them with its weights: its checkpoint config's "grouping", the
    EmbeddingModel row's ``grouping``. Empty: the defaults above, chosen for dlib v2."""

    merge_factor: float = 1.0  # merge distance / its P(same) = MERGE_PROBABILITY distance
    margin_share: float = MERGE_MARGIN_SHARE  # the margin as a share of the P(same) = 0.99 distance
    attach_min_size: int = ATTACH_MIN_SIZE
    attach_share: float | None = None  # attach / merge distance; None: its own P(same) = ATTACH_PROBABILITY distance
    attach_gap_share: float = 0.0  # how much farther the next cluster must be, / the merge distance

    @classmethod
    def from_dict(cls, data: dict) -> "JoinSettings":
        unknown = set(data) - {field.name for field in fields(cls)}
        if unknown:
            raise ValueError(f"unknown grouping settings {sorted(unknown)}")
        return cls(**data)

    def joins(self, calibration) -> dict:
        """group_embeddings' join arguments at this calibration's distances."""
        bar = calibration.distance_at_probability(MERGE_PROBABILITY)
        merge = self.merge_factor * bar
        attach = calibration.distance_at_probability(ATTACH_PROBABILITY) if self.attach_share is None else merge * self.attach_share
        return {"merge_distance": merge, "merge_margin": self.margin_share * bar, "attach_distance": attach,
                "attach_min_size": self.attach_min_size, "attach_gap": self.attach_gap_share * merge}


def merge_clusters(labels: np.ndarray, embeddings: np.ndarray, photo_ids: np.ndarray, max_distance: float, margin: float = MERGE_MARGIN) -> np.ndarray:
    """Agglomerate the clusters of ``labels`` (-1: unsorted, left alone) by average
    linkage up to ``max_distance``, joining two only if their average distance exceeds the
    mean of their own within-cluster averages by at most ``margin``; merged clusters take
    the smallest label of their parts.

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
        linkage, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or photos[a] & photos[b]:
            continue
        if linkage - (_within(sums[a], counts[a]) + _within(sums[b], counts[b])) / 2 > margin:
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


def attach_unsorted(labels: np.ndarray, embeddings: np.ndarray, photo_ids: np.ndarray, max_distance: float,
                    min_size: int = ATTACH_MIN_SIZE, gap: float = 0.0) -> np.ndarray:
    """Each unsorted face joins the cluster whose faces are, on average, nearest to it,
    when that average distance is below ``max_distance``, the cluster has at least
    ``min_size`` faces and holds no other face of its photo, and the next nearest
    cluster is at least ``gap`` farther: a face about as near to two clusters is as
    likely the look-alike's, so it stays unsorted. Clusters are those of ``labels``:
    faces attached do not move them."""
    labels = np.asarray(labels).copy()
    ids = np.unique(labels[labels >= 0])
    loose = np.flatnonzero(labels < 0)
    if not len(ids) or not len(loose):
        return labels
    x = np.asarray(embeddings, dtype=np.float64)
    part = np.searchsorted(ids, labels[labels >= 0])
    means = np.zeros((len(ids), x.shape[1]))
    np.add.at(means, part, x[labels >= 0])
    sizes = np.bincount(part, minlength=len(ids))
    means /= sizes[:, None]
    taken = set(zip(labels[labels >= 0].tolist(), np.asarray(photo_ids)[labels >= 0].tolist()))
    for start in range(0, len(loose), BLOCK):
        faces = loose[start : start + BLOCK]
        distance = 1.0 - x[faces] @ means.T
        rows = np.arange(len(faces))
        nearest = distance.argmin(axis=1)
        near = distance[rows, nearest]
        distance[rows, nearest] = np.inf
        runner_up = distance.min(axis=1)  # inf when there is one cluster
        for face, cluster, d, d2 in zip(faces, nearest, near, runner_up):
            label = int(ids[cluster])
            if d < max_distance and d2 - d >= gap and sizes[cluster] >= min_size and (label, photo_ids[face]) not in taken:
                labels[face] = label
                taken.add((label, photo_ids[face]))
    return labels


def _within(total: np.ndarray, count: float) -> float:
    """Mean cosine distance between distinct faces of a cluster, from the sum of its vectors."""
    return 0.0 if count < 2 else float(count * (1.0 - (total @ total) / count**2) / (count - 1))

"""Labelled face libraries for grouping benchmarks, from embeddings cached once per model
(ml.evaluation.embeddings): no import, no re-embedding.

- ``celeba5``: celeba5/test, 928 people x 5 faces (the harsh look-alike case).
- ``celeba_library``: every face of each person of celeba_library/<split> (val: even
  identity numbers, test: odd), i.e. celeba5/test/<id>/ plus celeba_library/<split>/<id>/.
- ``longtail``: the same people with sizes following a Zipf-like law (the k-th largest
  person keeps about 30 / k^0.75 faces, at least 1: a few with 30, most with 1-3), plus one-face strangers (people of celeba5/val,
  who are in neither split: even-numbered ones for val, odd ones for test) as distractors.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.evaluation.embeddings import split_embeddings

ZIPF_LARGEST, ZIPF_EXPONENT = 30, 0.75
STRANGERS = 300


@dataclass(frozen=True)
class Library:
    name: str
    embeddings: np.ndarray  # (N, D) unit vectors
    labels: np.ndarray  # (N,) true person of each face
    photo_ids: np.ndarray  # (N,) one photo per face (celeba crops hold one face)


def library_build(kind: str, split: str, *, checkpoint: Path, data: Path, seed: int = 0) -> Library:
    celeba5_x, celeba5_y = split_embeddings(checkpoint, data / "celeba5" / "test")
    if kind == "celeba5":
        return _library("celeba5/test", celeba5_x, celeba5_y)
    extra_x, extra_y = split_embeddings(checkpoint, data / "celeba_library" / split)
    people = set(extra_y.tolist())
    keep = np.isin(celeba5_y, list(people))
    x, y = np.concatenate([celeba5_x[keep], extra_x]), np.concatenate([celeba5_y[keep], extra_y])
    if kind == "celeba_library":
        return _library(f"celeba_library/{split}", x, y)
    if kind != "longtail":
        raise ValueError(f"unknown library {kind!r}")
    rng = np.random.default_rng(seed)
    # The largest ranks go to the people with the most faces (ties in random order).
    shuffled = rng.permutation(sorted(people))
    order = sorted(shuffled, key=lambda person: -int((y == person).sum()))
    chosen = []
    for rank, person in enumerate(order, start=1):
        faces = rng.permutation(np.flatnonzero(y == person))
        chosen.extend(faces[: max(1, round(ZIPF_LARGEST / rank**ZIPF_EXPONENT))].tolist())
    strangers_x, strangers_y = split_embeddings(checkpoint, data / "celeba5" / "val")
    parity = 0 if split == "val" else 1
    stranger_people = [p for p in sorted(set(strangers_y.tolist())) if int(p[1:]) % 2 == parity]
    picked = rng.choice(stranger_people, min(STRANGERS, len(stranger_people)), replace=False)
    first_face = [int(np.flatnonzero(strangers_y == p)[0]) for p in picked]
    return _library(
        f"longtail/{split} (Zipf sizes, {len(first_face)} one-face strangers)",
        np.concatenate([x[chosen], strangers_x[first_face]]), np.concatenate([y[chosen], strangers_y[first_face]]),
    )


def _library(name: str, x: np.ndarray, y: np.ndarray) -> Library:
    return Library(name, np.asarray(x, dtype=np.float32), np.asarray(y), np.arange(len(y)))


def groups_per_person(predicted: np.ndarray, labels: np.ndarray, largest: int = 20) -> list[tuple[str, int, int, int]]:
    """(person, faces, groups their faces are spread over, faces left unsorted) for the
    ``largest`` people."""
    people, sizes = np.unique(labels, return_counts=True)
    rows = []
    for person, size in sorted(zip(people, sizes), key=lambda row: (-row[1], row[0]))[:largest]:
        mine = predicted[labels == person]
        rows.append((str(person), int(size), len(set(mine[mine >= 0].tolist())), int((mine < 0).sum())))
    return rows

"""Which faces a search benchmark queries: drawn from a seeded generator, with no database
or Django setup on import, so tests can import it (bench/search.py points the process at
its own database when imported)."""
from __future__ import annotations

import numpy as np


def query_picks(owners, face_ids: dict[int, list[int]], queries: int, rng: np.random.Generator) -> list:
    """(owner, face id) for each query: a random user, then a random face of theirs, both
    drawn from the seeded ``rng`` (not the database's random order), so a run's queries
    are the same for the same --seed and figures from two runs compare like for like."""
    picks = []
    for _ in range(queries):
        owner = owners[int(rng.integers(0, len(owners)))]
        ids = face_ids[owner.pk]
        picks.append((owner, ids[int(rng.integers(0, len(ids)))]))
    return picks

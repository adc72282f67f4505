"""bench/search.py draws its queries from its seed (bench/picks.py), not from the database's random order."""
from types import SimpleNamespace

import numpy as np

from bench.picks import query_picks

OWNERS = [SimpleNamespace(pk=1), SimpleNamespace(pk=2), SimpleNamespace(pk=3)]
FACE_IDS = {1: [10, 11, 12], 2: [20, 21], 3: [30, 31, 32, 33]}


def _picks(seed):
    return [(owner.pk, face) for owner, face in query_picks(OWNERS, FACE_IDS, 50, np.random.default_rng(seed))]


def test_the_same_seed_draws_the_same_queries_and_another_seed_others():
    assert _picks(0) == _picks(0)
    assert _picks(0) != _picks(1)


def test_each_query_is_a_face_of_its_own_user_and_every_user_is_drawn():
    picks = _picks(0)
    assert all(face in FACE_IDS[owner] for owner, face in picks)
    assert {owner for owner, _ in picks} == {1, 2, 3}

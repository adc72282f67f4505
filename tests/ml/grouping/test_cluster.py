import numpy as np
import pytest

from ml.grouping.cluster import group_embeddings, pairwise_scores, prune_loose_members, split_same_photo


def people(n_people: int, per_person: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_people, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    truth = np.repeat(np.arange(n_people), per_person)
    x = centres[truth] + spread * rng.normal(size=(len(truth), 128)) / np.sqrt(128)
    return x / np.linalg.norm(x, axis=1, keepdims=True), truth


@pytest.mark.parametrize("method", ["hdbscan", "agglomerative"])
def test_well_separated_people_are_found(method):
    x, truth = people(30, 5, spread=0.15)
    labels = group_embeddings(x, np.arange(len(x)), method=method, threshold=0.1)
    scores = pairwise_scores(labels, truth)
    assert scores["precision"] == 1.0 and scores["recall"] > 0.9


def test_two_faces_of_one_photo_never_share_a_cluster():
    x, truth = people(5, 4, spread=0.1)
    photos = np.arange(len(x))
    photos[1] = photos[0]  # faces 0 and 1 (same person) come from one photo
    labels = group_embeddings(x, photos, method="agglomerative", threshold=0.1)
    assert labels[0] != labels[1] or labels[0] == -1


def test_split_same_photo_keeps_the_face_nearest_the_centre():
    x = np.array([[1.0, 0.0], [0.99, 0.141], [0.95, 0.312], [0.0, 1.0]])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = split_same_photo(np.array([0, 0, 0, -1]), x, np.array([7, 8, 7, 9]))
    # Faces 0 and 2 share photo 7; face 0 is nearer the centre of {0, 1, 2}, so face 2 goes.
    assert labels.tolist() == [0, 0, -1, -1]


def test_loose_members_are_left_unsorted():
    x = np.array([[1.0, 0.0], [0.999, 0.045], [0.8, 0.6]])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert prune_loose_members(np.array([3, 3, 3]), x, radius=0.05).tolist() == [3, 3, -1]


def test_pairwise_scores_by_hand():
    truth = np.array([0, 0, 0, 1, 1])
    predicted = np.array([5, 5, 6, 6, -1])
    scores = pairwise_scores(predicted, truth)
    # predicted pairs: (0,1) right, (2,3) wrong -> precision 1/2; true pairs: 3 + 1 = 4, found 1
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(0.25)
    assert scores["unsorted_share"] == pytest.approx(0.2)


def test_knn_graph_hdbscan_matches_hdbscan_on_all_pairs():
    """Grouping runs HDBSCAN from the 15-NN graph (for speed); it must find the same
    people as hdbscan.HDBSCAN on every pair, including people the graph does not join."""
    import hdbscan

    from ml.grouping.cluster import hdbscan_on_knn_graph, knn_graph

    from scipy.sparse import csgraph

    # Face-like data as in bench/people.py: people of 5 to 50 faces around a common face,
    # so the 15-NN graph falls apart into several parts of several people each.
    rng = np.random.default_rng(0)
    sizes = rng.integers(5, 51, 60)
    truth = np.repeat(np.arange(len(sizes)), sizes)
    unit = lambda v: v / np.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    centres = unit(unit(rng.normal(size=128)) + 0.55 * unit(rng.normal(size=(len(sizes), 128))))
    x = unit(centres[truth] + 0.3 * rng.normal(size=(len(truth), 128)) / np.sqrt(128))
    graph = knn_graph(x)
    assert graph.shape == (len(x), len(x)) and (graph != graph.T).nnz == 0
    assert csgraph.connected_components(graph, directed=False)[0] > 1
    assert np.allclose(graph[0].data, np.sqrt(2 - 2 * x[0] @ x[graph[0].indices].T), atol=1e-5)
    ours = hdbscan_on_knn_graph(x, min_cluster_size=2)
    reference = hdbscan.HDBSCAN(min_cluster_size=2, min_samples=1).fit_predict(x)
    assert len(set(ours)) >= 55  # really the people, not one blob per part of the graph
    # Same partition (label numbers may differ).
    assert pairwise_scores(ours, reference)["f1"] == 1.0 and (ours == -1).sum() == (reference == -1).sum()


@pytest.mark.parametrize("bfloat16", [False, True])
def test_knn_graph_finds_the_exact_neighbours_in_a_crowd(bfloat16):
    """bfloat16 products only pick candidates: each face still gets its exact k nearest,
    also in a crowd of near-copies (a person with hundreds of alike photos) where more than
    KNN_CANDIDATES faces lie within bfloat16's error of each other and the float32 search
    must take over."""
    from ml.grouping.cluster import KNN_CANDIDATES, KNN_K, knn_graph

    rng = np.random.default_rng(1)
    x, _ = people(40, 20, spread=0.3)
    crowd = x[0] + 2e-3 * rng.normal(size=(3 * KNN_CANDIDATES, 128))
    x = np.vstack([x, crowd / np.linalg.norm(crowd, axis=1, keepdims=True)])
    graph = knn_graph(x, bfloat16=bfloat16)
    exact = np.sqrt(np.maximum(2 - 2 * x @ x.T, 0))
    np.fill_diagonal(exact, np.inf)
    expected = np.sort(exact, axis=1)[:, :KNN_K]
    # A face's own k nearest are the k shortest edges of its row (symmetry only adds longer ones).
    found = np.array([np.sort(graph[i].data)[:KNN_K] for i in range(len(x))])
    np.testing.assert_allclose(found, expected, atol=2e-5)

import numpy as np
import pytest

from ml.cluster import group_embeddings, pairwise_scores, prune_loose_members, split_same_photo


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

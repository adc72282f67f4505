"""Judging a retrained network against the one it started from: verification (10-fold
accuracy, VAL at FAR = 1e-3, ROC AUC) and grouping quality (pairwise precision, recall,
F1 and BCubed F against the true people), on held-out people and on a pairs file.

A library's confirmed faces have no pairs file: every pair of held-out faces is a pair.
Verification uses all of them for VAL at FAR = 1e-3 and AUC, and a balanced sample (all
same pairs, as many different ones) with 10 random folds for accuracy, as in View 2.
Grouping runs the app's clustering (``ml.grouping.cluster``) with the model's own threshold and
scores it against the true people."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.evaluation.calibration import calibration_fit
from ml.evaluation.verification import PairsValidator, kfold_accuracy, roc_auc, val_at_far
from ml.faces.embed import Embedder
from ml.grouping.cluster import group_embeddings, pairwise_scores

# Promote only when the model loses at most half a point of celeba5 val accuracy: less
# than one fold's standard deviation there, so "not worse" is not a coin toss.
VAL_TOLERANCE = 0.005
MIN_PEOPLE = 5
# All pairs of 3,000 faces are 4.5 M distances (about 100 MB with their indices); a large
# library's held-out faces are evaluated on whole people up to this many faces.
MAX_EVALUATION_FACES = 3000


class TooLittleData(ValueError):
    pass


def people_split(person_ids: Sequence[int], *, holdout_share: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """(training people, held-out people): about ``holdout_share`` held out, at least two
    (one person makes no different pairs) and at least three left to train on."""
    people = sorted(set(int(p) for p in person_ids))
    if len(people) < MIN_PEOPLE:
        raise TooLittleData(f"{len(people)} people have at least 2 confirmed faces; retraining needs at least {MIN_PEOPLE}")
    held = max(2, round(holdout_share * len(people)))
    order = np.random.default_rng(seed).permutation(people)
    return sorted(int(p) for p in order[held:]), sorted(int(p) for p in order[:held])


def whole_people_upto(labels: np.ndarray, *, max_faces: int = MAX_EVALUATION_FACES, seed: int = 0) -> np.ndarray:
    """(N,) bool: every face of people taken in a seeded random order while the faces fit
    in ``max_faces`` (all of them when they already do)."""
    labels = np.asarray(labels)
    keep = np.zeros(len(labels), bool)
    if len(labels) <= max_faces:
        keep[:] = True
        return keep
    people, counts = np.unique(labels, return_counts=True)
    total = 0
    for index in np.random.default_rng(seed).permutation(len(people)):
        if total + counts[index] <= max_faces:
            keep |= labels == people[index]
            total += counts[index]
    return keep


def verification_scores(embeddings: np.ndarray, labels: np.ndarray, *, seed: int = 0) -> dict:
    """(N, D) unit embeddings and (N,) identities -> accuracy (mean, std), VAL@FAR=1e-3, AUC."""
    labels = np.asarray(labels)
    first, second = np.triu_indices(len(labels), k=1)
    distances = 1.0 - np.einsum("ij,ij->i", embeddings[first], embeddings[second])
    same = labels[first] == labels[second]
    if same.sum() == 0 or (~same).sum() == 0:
        raise TooLittleData("verification needs faces of at least two people, one of them with two faces")
    rng = np.random.default_rng(seed)
    same_idx = np.flatnonzero(same)
    diff_idx = rng.choice(np.flatnonzero(~same), min(len(same_idx), int((~same).sum())), replace=False)
    chosen = np.concatenate([same_idx, diff_idx])
    folds = rng.permutation(np.arange(len(chosen)) % min(10, len(same_idx)))
    accuracy, std, _ = kfold_accuracy(distances[chosen], same[chosen], folds)
    val, _ = val_at_far(distances, same, 1e-3)
    return {"accuracy": accuracy, "accuracy_std": std, "val": val, "auc": roc_auc(distances, same),
            "same_pairs": int(same.sum()), "different_pairs": int((~same).sum())}


def grouping_scores(embeddings: np.ndarray, labels: np.ndarray, photo_ids: np.ndarray, *, threshold: float) -> dict:
    """Pairwise precision/recall/F1, BCubed F and unsorted share of the app's HDBSCAN grouping."""
    predicted = group_embeddings(embeddings, np.asarray(photo_ids), method="hdbscan", threshold=threshold)
    return pairwise_scores(predicted, np.asarray(labels))


def library_score(metrics: dict) -> float:
    """One number for "better on the library's people": mean of VAL@FAR=1e-3 and grouping F1."""
    return (metrics["val"] + metrics["grouping_f1"]) / 2


def halves_won(old_embeddings: np.ndarray, new_embeddings: np.ndarray, labels: np.ndarray, photo_ids: np.ndarray, *,
               thresholds: tuple[float, float], rounds: int = 40, seed: int = 0) -> float:
    """Share of random halves of the held-out people on which the new model's library score
    beats the old one's, both judging the same faces: how consistent a gain is, where the
    score on one set of a few hundred people says only how large it was there."""
    labels, photo_ids = np.asarray(labels), np.asarray(photo_ids)
    people = np.unique(labels)
    rng = np.random.default_rng(seed)
    won = 0
    for _ in range(rounds):
        half = np.isin(labels, rng.choice(people, max(2, len(people) // 2), replace=False))
        y = labels[half]
        first, second = np.triu_indices(len(y), k=1)
        scores = []
        for embeddings, threshold in zip((old_embeddings, new_embeddings), thresholds):
            x = embeddings[half]
            distances = 1.0 - np.einsum("ij,ij->i", x[first], x[second])
            grouping = grouping_scores(x, y, photo_ids[half], threshold=threshold)
            scores.append(library_score({"val": val_at_far(distances, y[first] == y[second], 1e-3)[0],
                                         "grouping_f1": grouping["f1"]}))
        won += scores[1] > scores[0]
    return won / rounds


def recommend(*, old: dict, new: dict, tolerance: float = VAL_TOLERANCE) -> tuple[bool, str]:
    """(promote?, why). old/new: {"heldout": {...}, "celeba_val": {"accuracy": ...}}; a gain
    on the held-out people counts when the new model also wins on most random halves of
    them (new["heldout"]["halves_won"], see halves_won), not only on the whole set."""
    gain = library_score(new["heldout"]) - library_score(old["heldout"])
    drop = old["celeba_val"]["accuracy"] - new["celeba_val"]["accuracy"]
    facts = (f"held-out people: VAL@FAR=1e-3 {old['heldout']['val']:.1%} -> {new['heldout']['val']:.1%}, "
             f"grouping F1 {old['heldout']['grouping_f1']:.3f} -> {new['heldout']['grouping_f1']:.3f}; "
             f"celeba5 val accuracy {old['celeba_val']['accuracy']:.2%} -> {new['celeba_val']['accuracy']:.2%}")
    if "halves_won" in new["heldout"]:
        facts += f"; the new model scores higher on {new['heldout']['halves_won']:.0%} of random halves of the held-out people"
    if gain <= 0:
        return False, f"Keep the current model: no gain on the library's held-out people ({facts})."
    if new["heldout"].get("halves_won", 1.0) <= 0.5:
        return False, f"Keep the current model: its gain on the held-out people does not hold on most halves of them ({facts})."
    if drop > tolerance:
        return False, f"Keep the current model: it forgets too much, celeba5 val falls by more than {tolerance:.1%} ({facts})."
    return True, f"Promote: better on the library's held-out people and not worse on celeba5 val ({facts})."


@dataclass(frozen=True)
class LabelledFaces:
    """Aligned crops of known people: crops (N, S, S, 3) uint8, labels (N,) person ids,
    photo_ids (N,) (two faces of one photo are never grouped together)."""

    crops: np.ndarray
    labels: np.ndarray
    photo_ids: np.ndarray


def checkpoints_compare(*, old: Path, new: Path, old_threshold: float, heldout: LabelledFaces,
                        val: PairsValidator, seed: int = 0, device: str | None = None) -> dict:
    """embeddings_compare for two checkpoints, each embedding as the app will (its own
    mirror averaging): the held-out people's crops (whole people up to
    MAX_EVALUATION_FACES faces) and every val face with a face found."""
    keep = whole_people_upto(heldout.labels, seed=seed)
    val_rows = np.flatnonzero(val.cache.ok)
    vectors = {}
    for key, path in (("old", old), ("new", new)):
        embedder = Embedder.from_checkpoint(path, device=device)
        vectors[key] = ComparedVectors(heldout=embedder.embed(heldout.crops[keep], batch_size=128),
                                       val=embedder.embed(np.asarray(val.cache.crops[val_rows]), batch_size=128))
    return embeddings_compare(old=vectors["old"], new=vectors["new"], labels=np.asarray(heldout.labels)[keep],
                              photo_ids=np.asarray(heldout.photo_ids)[keep], val=val, old_threshold=old_threshold,
                              seed=seed)


@dataclass(frozen=True)
class ComparedVectors:
    """One model's unit vectors of the compared faces: heldout (N, D) the held-out faces;
    val (M, D) the val cache's rows with a face found (np.flatnonzero(val.cache.ok))."""

    heldout: np.ndarray
    val: np.ndarray


def embeddings_compare(*, old: ComparedVectors, new: ComparedVectors, labels: np.ndarray, photo_ids: np.ndarray,
                       val: PairsValidator, old_threshold: float, seed: int = 0) -> dict:
    """{"old": ..., "new": ...}, each {"threshold", "heldout": {...}, "celeba_val": {...}}:
    verification and grouping on the held-out people, and verification on the ``val``
    pairs; the new one's "heldout" also has "halves_won". The old model keeps the threshold
    it was calibrated with; the new one gets its own from the val pairs, as every shipped
    model did, and its "calibration" (ml.evaluation.calibration) from every pair of the
    val faces."""
    labels, photo_ids = np.asarray(labels), np.asarray(photo_ids)
    val_rows = np.flatnonzero(val.cache.ok)
    results = {}
    for key, vectors in (("old", old), ("new", new)):
        on_val = val(lambda rows: vectors.val[np.searchsorted(val_rows, rows)])
        threshold = old_threshold if key == "old" else on_val["val_threshold"]
        scores = verification_scores(vectors.heldout, labels, seed=seed)
        grouping = grouping_scores(vectors.heldout, labels, photo_ids, threshold=threshold)
        scores.update({f"grouping_{name}": value for name, value in grouping.items()})
        results[key] = {"threshold": threshold, "heldout": scores,
                        "celeba_val": {"accuracy": on_val["val_accuracy"], "accuracy_std": on_val["val_accuracy_std"],
                                       "val": on_val["val_at_far_1e-3"], "auc": on_val["val_auc"],
                                       "pairs": int(len(val.same))}}
    results["new"]["calibration"] = calibration_fit(
        new.val, val.cache.labels[val_rows], source=f"celeba5 val, every pair of {len(val_rows)} faces").to_dict()
    results["new"]["heldout"]["halves_won"] = halves_won(
        old.heldout, new.heldout, labels, photo_ids,
        thresholds=(results["old"]["threshold"], results["new"]["threshold"]), seed=seed)
    return results

"""Does "who is this?" name strangers? Open-set identification on celeba5 test, before and
after calibration, and same-person calls on the album photos.

    .venv/bin/python bench/open_set.py [--checkpoint models/dlib_resnet_v1_mirror.pt] [--rounds 5]

Open set: the test people are split in two halves at random (``--rounds`` times). Each
person of the first half is enrolled with one named face; their other faces are asked
"who is this?" (they should get their name), and every face of the second half, people
never named, is asked too (they should be "unknown"). The answer is the app's: the k-NN
vote of ml.grouping.knn over the named faces, within

- before: the model's balanced-pairs threshold (what every page used until calibration);
- after: the calibration's open-set bar for that many named people at the app's default
  stranger rate (VISAGE_STRANGER_RATE, 0.3 %, chosen on val with ``--choose``), and at a
  few other rates for the curve.

The calibration was measured on celeba5 val (ml.evaluation.calibration); nothing here
is tuned on test. Album photos: every pair of the labelled album faces of
ml.evaluation.albumcheck (BBT characters, obama_biden), called the same person below the
balanced-pairs threshold (before) or the FAR 1e-3 distance (after).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATASETS = Path(os.environ.get("FACES_DATA_DIR", ROOT.parent / "shared" / "datasets"))

from ml.evaluation.albumcheck import aligned_largest_faces, labelled_images  # noqa: E402
from ml.faces.align import NETWORK_BORDER  # noqa: E402
from ml.evaluation.calibration import Calibration, calibration_fit, calibration_path, pair_distances  # noqa: E402
from ml.evaluation.embeddings import split_embeddings  # noqa: E402
from ml.faces.checkpoint import read_checkpoint  # noqa: E402
from ml.faces.detect import FaceDetector  # noqa: E402
from ml.faces.embed import load_embedder  # noqa: E402
from ml.grouping.knn import knn_guess  # noqa: E402

DEFAULT_STRANGER_RATE = 0.003  # webapp/settings.py VISAGE_STRANGER_RATE
SAME_PERSON_FAR = 1e-3  # webapp/faces/calibration.py
NEIGHBOURS = 10  # webapp/people/selectors.py GUESS_NEIGHBOURS


def open_set_round(embeddings: np.ndarray, labels: np.ndarray, *, thresholds: dict[str, float], seed: int) -> dict:
    """{setting: (strangers named, enrolled faces named correctly, enrolled faces named wrongly)}."""
    rng = np.random.default_rng(seed)
    people = rng.permutation(np.unique(labels))
    enrolled = set(people[: len(people) // 2])
    gallery, queries_known, queries_stranger = [], [], []
    seen = set()
    for index, person in enumerate(labels):
        if person in enrolled and person not in seen:
            gallery.append(index)
            seen.add(person)
        elif person in enrolled:
            queries_known.append(index)
        else:
            queries_stranger.append(index)
    gallery = np.array(gallery)
    gallery_labels = list(labels[gallery])
    results = {}
    for name, threshold in thresholds.items():
        def answers(queries):
            distances = 1.0 - embeddings[queries] @ embeddings[gallery].T
            return [knn_guess(row, gallery_labels, threshold=threshold, k=NEIGHBOURS).label for row in distances]
        strangers = answers(queries_stranger)
        known = answers(queries_known)
        truth = labels[queries_known]
        results[name] = (
            float(np.mean([a is not None for a in strangers])),
            float(np.mean([a == t for a, t in zip(known, truth)])),
            float(np.mean([a is not None and a != t for a, t in zip(known, truth)])),
        )
    return results


def stranger_rate_choose(checkpoint: Path, val_root: Path, rates: list[float], *, rounds: int) -> dict[float, tuple]:
    """Cross-fitted on val: calibrate on half the val people, ask the open-set question on
    the other half (itself split into enrolled people and strangers), and back; so the
    stranger share is measured on people the calibration never saw, as in a library.
    {rate: (mean strangers named, mean enrolled right)} over 2 x ``rounds`` fits."""
    embeddings, labels = split_embeddings(checkpoint, val_root)
    found: dict[float, list] = {rate: [] for rate in rates}
    for seed in range(rounds):
        people = np.random.default_rng(1000 + seed).permutation(np.unique(labels))
        halves = [np.isin(labels, people[: len(people) // 2]), np.isin(labels, people[len(people) // 2 :])]
        for fit, ask in (halves, halves[::-1]):
            calibration = calibration_fit(embeddings[fit], labels[fit], source="half of val")
            enrolled = len(np.unique(labels[ask])) // 2
            thresholds = {rate: calibration.open_set_threshold(people=enrolled, stranger_rate=rate) for rate in rates}
            result = open_set_round(embeddings[ask], labels[ask], thresholds=thresholds, seed=seed)
            for rate in rates:
                found[rate].append(result[rate][:2])
    return {rate: tuple(np.mean(values, axis=0)) for rate, values in found.items()}


def album_pairs(checkpoint: Path, thresholds: dict[str, float]) -> dict:
    albums = DATASETS / "albums"
    embedder = load_embedder(checkpoint)
    detector = FaceDetector()
    vectors, labels = [], []
    for set_name, items in labelled_images(albums).items():
        by_border, set_labels, _missed, _at_edge = aligned_largest_faces(items, detector, embedder.templates, (NETWORK_BORDER,))
        vectors.append(embedder.embed(by_border[NETWORK_BORDER]))
        labels += [f"{set_name}/{label}" for label in set_labels]
    same, different = pair_distances(np.concatenate(vectors), np.array(labels))
    out = {"faces": len(labels), "same_pairs": len(same), "different_pairs": len(different)}
    for name, threshold in thresholds.items():
        true_accepts, false_accepts = int((same <= threshold).sum()), int((different <= threshold).sum())
        out[name] = {"threshold": threshold, "same_accepted": true_accepts, "false_matches": false_accepts,
                     "accuracy": (true_accepts + len(different) - false_accepts) / (len(same) + len(different)),
                     "balanced_accuracy": (true_accepts / len(same) + 1 - false_accepts / len(different)) / 2}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "dlib_resnet_v1_mirror.pt")
    parser.add_argument("--root", type=Path, default=DATASETS / "celeba5" / "test")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--choose", action="store_true",
                        help="only choose the default stranger rate, cross-fitted on celeba5 val (never test)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.choose:
        rates = [0.001, 0.002, 0.003, 0.005, 0.01]
        print(f"{args.checkpoint.name}: celeba5 val, calibrated on half the people and asked on the other half")
        for rate, (strangers, right) in stranger_rate_choose(args.checkpoint, args.root.parent / "val", rates, rounds=args.rounds).items():
            print(f"stranger rate {rate:<6g} strangers named {100 * strangers:5.2f} %   enrolled named right {100 * right:5.2f} %")
        return
    calibration = Calibration.from_dict(json.loads(calibration_path(args.checkpoint).read_text()))
    balanced = float(read_checkpoint(args.checkpoint)["metrics"]["same_person_threshold"])
    embeddings, labels = split_embeddings(args.checkpoint, args.root)
    enrolled = len(np.unique(labels)) // 2
    thresholds = {"before: balanced-pairs threshold": balanced}
    for rate in (0.001, DEFAULT_STRANGER_RATE, 0.01, 0.05):
        default = " (default)" if rate == DEFAULT_STRANGER_RATE else ""
        thresholds[f"after: stranger rate {rate:g}{default}"] = calibration.open_set_threshold(people=enrolled, stranger_rate=rate)
    rounds = [open_set_round(embeddings, labels, thresholds=thresholds, seed=seed) for seed in range(args.rounds)]
    print(f"{args.checkpoint.name}: celeba5 test, {enrolled} people enrolled with one face, the other half strangers, {args.rounds} rounds")
    print(f"{'setting':<42} {'distance':>8} {'strangers named':>16} {'enrolled: right':>16} {'enrolled: wrong':>16}")
    report = {"open_set": {}, "checkpoint": args.checkpoint.name}
    for name, threshold in thresholds.items():
        values = np.array([r[name] for r in rounds]) * 100
        mean, std = values.mean(axis=0), values.std(axis=0)
        print(f"{name:<42} {threshold:>8.4f} " + " ".join(f"{m:>10.2f} ± {s:<4.2f}" for m, s in zip(mean, std)))
        report["open_set"][name] = {"distance": threshold, "strangers_named": mean[0], "enrolled_right": mean[1], "enrolled_wrong": mean[2]}
    albums = album_pairs(args.checkpoint, {"before": balanced, "after": calibration.threshold_at_far(SAME_PERSON_FAR)})
    print(f"\nalbum faces: {albums['faces']} faces, {albums['same_pairs']} same-person and {albums['different_pairs']} different-person pairs")
    for name in ("before", "after"):
        row = albums[name]
        print(f"{name:<7} distance {row['threshold']:.4f}: same-person pairs accepted {row['same_accepted']}/{albums['same_pairs']}, "
              f"false matches {row['false_matches']}/{albums['different_pairs']}, accuracy {100 * row['accuracy']:.2f} %, "
              f"balanced accuracy {100 * row['balanced_accuracy']:.2f} %")
    report["albums"] = albums
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Which bar should "Are these the same person?" use? Validation people split in two
halves (as grouping can leave a person) against pairs of different people, for the rule
the review page used before (distance of the average faces < 1.5 x the balanced
threshold) and the calibrated probability of the average face-to-face distance
(webapp.people.selectors.person_pairs_close) at several bars.

    .venv/bin/python bench/pair_suggestions.py                      # celeba5 val and celeba_library val
    .venv/bin/python bench/pair_suggestions.py --split celeba5/val

Each person's faces are shuffled (seed 0) and cut in two halves; a "split" pair is the two
halves of one person, a "different" pair the first half of one person and the second half
of another (the same sizes as the split pairs). Printed per rule: the share of split
people it offers, the share of different pairs it offers, and what that means in a
library of 100 people (4,950 pairs, 10 of them split): wrong and right pairs offered.
Embeddings come from the cache of ml.evaluation.embeddings (embedded once per checkpoint).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.evaluation.calibration import Calibration, calibration_path  # noqa: E402
from ml.evaluation.embeddings import split_embeddings  # noqa: E402
from ml.faces.checkpoint import read_checkpoint  # noqa: E402

BARS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
LIBRARY_PEOPLE, LIBRARY_SPLIT = 100, 10


def halves(embeddings: np.ndarray, labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(P, D) mean embedding of each person's first and second half (people with 2+ faces)."""
    rng = np.random.default_rng(seed)
    first, second = [], []
    for person in sorted(set(labels)):
        faces = rng.permutation(np.flatnonzero(labels == person))
        if len(faces) < 2:
            continue
        cut = len(faces) // 2
        first.append(embeddings[faces[:cut]].astype(np.float64).mean(0))
        second.append(embeddings[faces[cut:]].astype(np.float64).mean(0))
    return np.stack(first), np.stack(second)


def report(name: str, embeddings: np.ndarray, labels: np.ndarray, calibration: Calibration, old_bar: float) -> None:
    first, second = halves(embeddings, labels)
    different = ~np.eye(len(first), dtype=bool)
    average = 1.0 - first @ second.T  # average linkage: mean face-to-face cosine distance
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    centroid = 1.0 - unit(first) @ unit(second).T
    pairs = LIBRARY_PEOPLE * (LIBRARY_PEOPLE - 1) // 2
    print(f"\n{name}: {len(first)} people split in two, {int(different.sum()):,} pairs of different people")
    print(f"{'rule':<34} {'split offered':>13} {'different offered':>18} {'per 100 people: wrong':>22} {'right':>6}")

    def line(rule: str, offered: np.ndarray) -> None:
        split, wrong = float(np.diag(offered).mean()), float(offered[different].mean())
        print(f"{rule:<34} {split:>13.1%} {wrong:>18.2e} {wrong * pairs:>22.2f} {split * LIBRARY_SPLIT:>6.1f}")

    line(f"old: centroid < {old_bar:.3f}", centroid < old_bar)
    probability = calibration.probability(average)
    for bar in BARS:
        line(f"average linkage, P(same) >= {bar}", probability >= bar)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "dlib_resnet_v1_mirror.pt")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--split", action="append", help="a validation split folder under --data (default: both)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    calibration = Calibration.from_dict(json.loads(calibration_path(args.checkpoint).read_text()))
    # The old rule: 1.5 x the version's same_person_threshold (accuracy-optimal on balanced pairs).
    old_bar = 1.5 * float(read_checkpoint(args.checkpoint)["metrics"]["same_person_threshold"])
    for split in args.split or ["celeba5/val", "celeba_library/val"]:
        embeddings, labels = split_embeddings(args.checkpoint, args.data / split, threads=args.threads)
        report(split, embeddings, labels, calibration, old_bar)


if __name__ == "__main__":
    main()

"""What a distance between two faces means, measured once per model version on val faces.

    python -m ml.evaluation.calibration --checkpoint models/dlib_resnet_v1_mirror.pt \
        --root ../shared/datasets/celeba5/val --out models/dlib_resnet_v1_mirror.calibration.json

Every pair of val faces is used (about 10 million pairs for celeba5 val), not only a
balanced pairs file: in a library almost every comparison is between two different
people, so what matters is the rare different-person pair that comes close. From those
pairs a model version keeps:

- the false-accept rate (FAR) as a function of distance: the share of different-person
  pairs at or below it, on a log grid down to 1e-6 (ten pairs of the ten million);
- P(same person | distance) for two faces that are a priori as likely one person as two
  (isotonic regression on all same-person pairs against as much weight of
  different-person pairs), which is what "Same person?" about two chosen faces asks.

"Who is this?" compares a face with every named person, so one stranger has as many
chances of a false match as there are named people: ``open_set_threshold`` divides the
accepted stranger rate among them (a union bound), so the bar tightens as a library
names more people.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# FARs the table keeps: 1, 2 and 5 per decade from 1e-6 to 0.5.
FAR_GRID = tuple(sorted({float(f"{m}e{e}") for e in range(-6, 0) for m in (1, 2, 5)} | {0.5}))
PROBABILITY_GRID = tuple(round(0.005 * i, 3) for i in range(0, 241))  # distances 0 .. 1.2
PROBABILITY_FLOOR = 0.001  # never say "0 %" or "100 %": the val faces are not every face


@dataclass(frozen=True)
class Calibration:
    """Stored per model version (EmbeddingModel.calibration) as ``to_dict()``."""

    far_table: tuple[tuple[float, float], ...]  # (far, distance), far ascending
    probability_table: tuple[tuple[float, float], ...]  # (distance, P(same)), distance ascending
    same_pairs: int
    different_pairs: int
    source: str

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        return cls(
            far_table=tuple((float(f), float(d)) for f, d in data["far_table"]),
            probability_table=tuple((float(d), float(p)) for d, p in data["probability_table"]),
            same_pairs=int(data["same_pairs"]), different_pairs=int(data["different_pairs"]), source=str(data["source"]),
        )

    def to_dict(self) -> dict:
        data = asdict(self)
        data["far_table"] = [list(row) for row in self.far_table]
        data["probability_table"] = [list(row) for row in self.probability_table]
        return data

    @property
    def min_far(self) -> float:
        return self.far_table[0][0]

    def threshold_at_far(self, far: float) -> float:
        """The distance at or below which a share ``far`` of different-person pairs fall.
        Below the table's smallest FAR the smallest measured distance is used: the val
        faces cannot say more."""
        fars, distances = zip(*self.far_table)
        return float(np.interp(np.log10(max(far, self.min_far)), np.log10(fars), distances))

    def far_at(self, distance: float) -> float:
        """The share of different-person pairs at or below ``distance`` (at least min_far)."""
        fars, distances = zip(*self.far_table)
        if distance <= distances[0]:
            return self.min_far
        return float(10 ** np.interp(distance, distances, np.log10(fars)))

    def probability(self, distance: float | np.ndarray) -> float | np.ndarray:
        """P(same person | distance) for a pair that is a priori 50/50; an array of
        distances gives an array of probabilities."""
        distances, probabilities = zip(*self.probability_table)
        probability = np.clip(np.interp(distance, distances, probabilities), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        return float(probability) if np.ndim(probability) == 0 else probability

    def even_odds_distance(self) -> float:
        """Where P(same) crosses 1/2: the accuracy-optimal threshold on balanced pairs."""
        distances, probabilities = zip(*self.probability_table)
        below = [d for d, p in zip(distances, probabilities) if p >= 0.5]
        return below[-1] if below else distances[0]

    def distance_at_probability(self, probability: float) -> float:
        """The largest distance at which P(same) is still at least ``probability``,
        interpolated between the table's steps (the smallest distance if none is)."""
        distances, probabilities = (np.array(column) for column in zip(*self.probability_table))
        above = np.flatnonzero(probabilities >= probability)
        if not len(above) or above[-1] == len(distances) - 1:
            return float(distances[above[-1]] if len(above) else distances[0])
        i = above[-1]
        share = (probabilities[i] - probability) / max(probabilities[i] - probabilities[i + 1], 1e-12)
        return float(distances[i] + share * (distances[i + 1] - distances[i]))

    def scaled(self, factor: float, *, source: str) -> Calibration:
        """This calibration with every distance multiplied by ``factor``: an estimate for a
        version that was never calibrated, from one whose threshold relates to it."""
        return Calibration(
            far_table=tuple((f, d * factor) for f, d in self.far_table),
            probability_table=tuple((d * factor, p) for d, p in self.probability_table),
            same_pairs=self.same_pairs, different_pairs=self.different_pairs, source=source,
        )

    def open_set_threshold(self, *, people: int, stranger_rate: float) -> float:
        """The distance a guess must beat when a face is compared with ``people`` named
        people, so that a stranger is named at most ``stranger_rate`` of the time."""
        return self.threshold_at_far(stranger_rate / max(1, people))

    def stranger_chance(self, distance: float, *, people: int) -> float:
        """How often a stranger comes this close to one of ``people`` named people."""
        return float(min(1.0, 1.0 - (1.0 - self.far_at(distance)) ** max(1, people)))


def pair_distances(embeddings: np.ndarray, labels: np.ndarray, *, block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Cosine distances of every same-person pair and every different-person pair (i < j)."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    labels = np.asarray(labels)
    same, different = [], []
    for start in range(0, len(labels), block):
        rows = slice(start, start + block)
        distances = 1.0 - embeddings[rows] @ embeddings.T
        upper = np.arange(len(labels))[None, :] > np.arange(start, min(start + block, len(labels)))[:, None]
        is_same = labels[rows, None] == labels[None, :]
        same.append(distances[upper & is_same])
        different.append(distances[upper & ~is_same])
    return np.concatenate(same), np.concatenate(different)


def calibration_fit(embeddings: np.ndarray, labels, *, source: str) -> Calibration:
    from sklearn.isotonic import IsotonicRegression

    same, different = pair_distances(embeddings, np.asarray(labels))
    # At least ten different-person pairs below each FAR kept: a small val set measures
    # only the larger FARs, and smaller ones are answered with the smallest it measured.
    usable = [far for far in FAR_GRID if far * len(different) >= 10]
    if len(same) < 2 or not usable:
        raise ValueError(f"too few pairs to calibrate ({len(same)} same-person, {len(different)} different-person)")
    far_distances = np.quantile(different, usable)
    # Different-person pairs are subsampled for the fit and weighted to the same total as
    # the same-person pairs: a balanced prior.
    rng = np.random.default_rng(0)
    sample = different[rng.choice(len(different), min(len(different), 200_000), replace=False)]
    x = np.concatenate([same, sample])
    y = np.concatenate([np.ones(len(same)), np.zeros(len(sample))])
    weights = np.concatenate([np.ones(len(same)), np.full(len(sample), len(same) / len(sample))])
    isotonic = IsotonicRegression(increasing=False, y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y, sample_weight=weights)
    probabilities = isotonic.predict(np.array(PROBABILITY_GRID))
    return Calibration(
        far_table=tuple((float(f), round(float(d), 5)) for f, d in zip(usable, np.maximum.accumulate(far_distances))),
        probability_table=tuple((float(d), round(float(p), 4)) for d, p in zip(PROBABILITY_GRID, probabilities)),
        same_pairs=int(len(same)), different_pairs=int(len(different)), source=source,
    )


def calibration_path(checkpoint: str | Path) -> Path:
    """Kept next to the weights it describes: models/<name>.calibration.json."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + ".calibration.json")


def main() -> None:
    import torch

    from ml.evaluation.embeddings import split_embeddings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True, help="a split folder: <person>/<person>_NNNN.<ext> (use val)")
    parser.add_argument("--out", type=Path, help="default: next to the checkpoint")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    embeddings, labels = split_embeddings(args.checkpoint, args.root, threads=args.threads)
    calibration = calibration_fit(embeddings, labels, source=f"{args.root.parent.name}/{args.root.name}, every pair of {len(labels)} faces")
    out = args.out or calibration_path(args.checkpoint)
    out.write_text(json.dumps(calibration.to_dict(), indent=1) + "\n")
    for far in (1e-3, 1e-4, 1e-5):
        print(f"FAR {far:g}: distance {calibration.threshold_at_far(far):.4f}")
    print(f"{calibration.same_pairs} same-person and {calibration.different_pairs} different-person pairs -> {out}")


if __name__ == "__main__":
    main()

"""Public networks, their plain concatenations and the trained fusion head on celeba5 val
and test pairs, with dlib v2 (dlib v1 + mirror averaging, the app's active model) as the
baseline, all from the same cached features in one run.

    # the celeba5 val and test caches of bench/fused_grouping.py (roots c5val, c5test)
    python -m ml.fusion.features --landmarks var/fusion/landmarks_c5val.npz --out var/fusion/features_c5val  # and c5test
    .venv/bin/python bench/fusion.py [--head var/fusion/head.pt ...]

Every row goes through our detector (one detection per image, shared by all networks) and
aligner (dlib chip for dlib, ArcFace 112 for the others); each face is embedded with its
mirror image (unit(f(x) + f(mirror x)); a head averages its two outputs). Metrics as
ml.evaluation.evaluate: 10-fold accuracy (thresholds from the other nine folds), VAL at
FAR = 1e-3, ROC AUC; images without a face score their pairs at the worst distance.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.fusion.backbones import unit  # noqa: E402
from ml.fusion.head import load_head_file  # noqa: E402
from ml.fusion.backbones import BACKBONE_NAMES  # noqa: E402
from ml.fusion.splits import FeatureSplit, load_split  # noqa: E402

COMBINATIONS = (("dlib", "mobilefacenet"), ("dlib", "fr_feature"), ("mobilefacenet", "fr_feature"), BACKBONE_NAMES)


def mirrored(split: FeatureSplit, name: str) -> np.ndarray:
    return unit(split.features[name] + split.mirrors[name])


def concatenated(split: FeatureSplit, names: tuple[str, ...]) -> np.ndarray:
    """Equal weights: each unit embedding counts the same in the cosine."""
    return unit(np.concatenate([mirrored(split, name) for name in names], axis=1))


def head_embedding(path: Path):
    head, config = load_head_file(path)
    names = tuple(config["backbones"])
    return lambda s: head.embed(s.parts(names), s.mirror_parts(names))


def rows(splits: dict[str, FeatureSplit], heads: list[Path]):
    cached = next(iter(splits.values())).backbones
    single = {"dlib v1 (no mirror)": lambda s: s.features["dlib"]}
    single |= {f"{name}{' = v2, baseline' if name == 'dlib' else ''}": (lambda s, n=name: mirrored(s, n)) for name in cached}
    single |= {" + ".join(names): (lambda s, n=names: concatenated(s, n)) for names in COMBINATIONS if set(names) <= set(cached)}
    single |= {f"fused head {path.name}": head_embedding(path) for path in heads}
    for label, embed in single.items():
        yield label, {split: data.verify(embed(data)) for split, data in splits.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=Path, default=ROOT / "var" / "fusion")
    parser.add_argument("--pairs", type=Path, default=ROOT.parent / "shared" / "datasets" / "celeba5",
                        help="folder with pairs_val.txt and pairs_test.txt")
    parser.add_argument("--head", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    splits = {split: replace(load_split(args.features / f"features_c5{split}"), pairs_file=args.pairs / f"pairs_{split}.txt")
              for split in ("val", "test")}
    print(f"faces: {', '.join(f'{k} {len(v.paths)}' for k, v in splits.items())}")
    print("| embedding | val accuracy | val VAL@1e-3 | test accuracy | test VAL@1e-3 | test AUC |")
    print("|---|---|---|---|---|---|")
    for label, by_split in rows(splits, args.head):
        val, test = by_split["val"], by_split["test"]
        print(f"| {label} | {100 * val['accuracy']:.2f} ± {100 * val['accuracy_std']:.2f} % | {100 * val['val_at_far_1e-3']:.1f} % "
              f"| {100 * test['accuracy']:.2f} ± {100 * test['accuracy_std']:.2f} % | {100 * test['val_at_far_1e-3']:.1f} % "
              f"| {test['roc_auc']:.4f} |", flush=True)


if __name__ == "__main__":
    main()

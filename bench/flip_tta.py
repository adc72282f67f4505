"""What averaging each face with its mirror image buys (version 2's embedding), on celeba5 val.

    .venv/bin/python -u bench/flip_tta.py [--checkpoint models/dlib_resnet_v1.pt]

Embeds the cached aligned val crops (``python -m ml.learning.facecache --split val --out
var/training/cache/celeba5_val_every1.npy``, or what a retraining run built) once as they
are and once as normalise(f(x) + f(mirror(x))), then reports for both: verification on
pairs_val.txt (10-fold accuracy with each fold's threshold chosen on the other nine, VAL at
FAR = 1e-3, ROC AUC), the app's HDBSCAN
grouping against the true people, and naming one face per person (k-NN votes within
0.85 x threshold, confidence 0.3, then group suggestions, as webapp/people/propagation.py).
Version 2 on a new install (`models/dlib_resnet_v1_mirror.pt`) embeds this way; it doubles the network's
time per face.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.evaluation.verification import PairsValidator  # noqa: E402
from ml.faces.checkpoint import load_checkpoint  # noqa: E402
from ml.faces.embed import Embedder  # noqa: E402
from ml.grouping.cluster import group_embeddings, pairwise_scores  # noqa: E402
from ml.learning.facecache import load_cache  # noqa: E402
from ml.grouping.knn import knn_guess  # noqa: E402


def naming_coverage(x: np.ndarray, truth: np.ndarray, groups: np.ndarray, threshold: float) -> tuple[float, float]:
    """(coverage, precision) of suggested names after naming each person's first face."""
    named = np.zeros(len(x), bool)
    named[np.unique(truth, return_index=True)[1]] = True
    distances = 1.0 - x @ x[named].T
    labels = truth[named]
    guess = np.full(len(x), -1)
    for i in np.flatnonzero(~named):
        nearest = np.argsort(distances[i])[:10]
        vote = knn_guess(distances[i][nearest], list(labels[nearest]), threshold=0.85 * threshold, k=10)
        if vote.label is not None and vote.confidence >= 0.3:
            guess[i] = vote.label
    for group in np.unique(groups[groups >= 0]):
        members = groups == group
        names = set(truth[members & named])
        if len(names) == 1:
            guess[members & ~named & (guess < 0)] = names.pop()
    suggested = guess[~named] >= 0
    correct = suggested & (guess[~named] == truth[~named])
    return float(suggested.mean()), float(correct.sum() / max(1, suggested.sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "dlib_resnet_v1.pt")
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "training" / "cache" / "celeba5_val_every1.npy")
    parser.add_argument("--pairs", type=Path, default=ROOT.parent / "shared" / "datasets" / "celeba5" / "pairs_val.txt")
    args = parser.parse_args()
    torch.set_num_threads(2)
    cache = load_cache(args.cache)
    model, config, _ = load_checkpoint(args.checkpoint)
    crops, device = np.asarray(cache.crops), torch.device("cpu")
    plain = Embedder(model, {**config, "mirror_average": False}, device).embed(crops, batch_size=128)
    flipped = Embedder(model, {**config, "mirror_average": True}, device).embed(crops, batch_size=128)
    validator = PairsValidator(cache, args.pairs)
    x_ok, truth = cache.ok, cache.labels[cache.ok]
    for name, embeddings in (("as is", plain), ("with mirror average", flipped)):
        m = validator(lambda rows: embeddings[rows])
        x = embeddings[x_ok]
        groups = group_embeddings(x, np.arange(len(x)), threshold=m["val_threshold"])
        g = pairwise_scores(groups, truth)
        coverage, precision = naming_coverage(x, truth, groups, m["val_threshold"])
        print(f"{name}: accuracy {m['val_accuracy']:.2%} ± {m['val_accuracy_std']:.2%}, VAL@FAR=1e-3 "
              f"{m['val_at_far_1e-3']:.2%}, AUC {m['val_auc']:.4f}, threshold {m['val_threshold']:.4f}; grouping "
              f"precision {g['precision']:.3f} recall {g['recall']:.3f}; naming 1 face/person: {coverage:.1%} at "
              f"{precision:.1%}", flush=True)


if __name__ == "__main__":
    main()

"""Verification benchmark for a checkpoint on a View-2 pairs file: 10-fold accuracy with
each fold's threshold chosen on the other nine (mean and std), VAL at FAR = 1e-3, ROC AUC.

    python -m ml.evaluation.evaluate --root ../shared/datasets/celeba5/test \
        --pairs ../shared/datasets/celeba5/pairs_test.txt --checkpoint models/dlib_resnet_v1.pt [--json out.json]

Every image goes through the same decoder, detector and aligner as an upload. An image
without a detected face is counted as a detection failure and its pairs are scored at
the worst distance (2.0), so failures cost accuracy instead of vanishing.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ml.faces.boxes import central_face
from ml.faces.checkpoint import update_checkpoint_metrics
from ml.faces.detect import FaceDetector
from ml.faces.embed import Embedder
from ml.faces.imageio import decode_image
from ml.faces.pipeline import FacePipeline
from ml.evaluation.verification import WORST_DISTANCE, kfold_accuracy, read_pairs, roc_auc, val_at_far


def embed_images(pipeline: FacePipeline, paths: list[Path], batch: int = 64) -> dict[Path, np.ndarray | None]:
    embeddings: dict[Path, np.ndarray | None] = {}
    for start in range(0, len(paths), batch):
        chunk = paths[start : start + batch]
        images = [decode_image(p, max_side=1600) for p in chunk]
        for path, image, records in zip(chunk, images, pipeline.process_decoded(images)):
            face = central_face(records, image.original_width, image.original_height) if records else None
            embeddings[path] = None if face is None else face.embedding
    return embeddings


def evaluate(pipeline: FacePipeline, pairs_file: Path, root: Path) -> dict:
    pairs = read_pairs(pairs_file, root)
    paths = sorted({p.path_a for p in pairs} | {p.path_b for p in pairs})
    start = time.perf_counter()
    embeddings = embed_images(pipeline, paths)
    elapsed = time.perf_counter() - start
    distances = np.array([
        WORST_DISTANCE if embeddings[p.path_a] is None or embeddings[p.path_b] is None
        else float(1.0 - embeddings[p.path_a] @ embeddings[p.path_b])
        for p in pairs
    ])
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    mean, std, thresholds = kfold_accuracy(distances, same, folds)
    val, val_threshold = val_at_far(distances, same, 1e-3)
    return {
        "pairs": len(pairs),
        "images": len(paths),
        "detection_failures": sum(e is None for e in embeddings.values()),
        "accuracy": mean,
        "accuracy_std": std,
        "val_at_far_1e-3": val,
        "val_threshold": val_threshold,
        "roc_auc": roc_auc(distances, same),
        "same_person_threshold": float(np.median(thresholds)),
        "seconds": elapsed,
    }


def format_table(results: dict) -> str:
    rows = [
        ("accuracy (10-fold)", f"{100 * results['accuracy']:.2f} ± {100 * results['accuracy_std']:.2f} %"),
        ("VAL @ FAR=1e-3", f"{100 * results['val_at_far_1e-3']:.2f} %"),
        ("ROC AUC", f"{results['roc_auc']:.4f}"),
        ("same-person threshold (cosine distance)", f"{results['same_person_threshold']:.4f}"),
        ("detection failures", f"{results['detection_failures']} of {results['images']} images"),
        ("pairs", str(results["pairs"])),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="folder with <person>/<person>_NNNN.<ext>")
    parser.add_argument("--pairs", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--store", action="store_true",
        help="store the metrics and the same-person threshold in the checkpoint (for the app to use)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipeline = FacePipeline(
        detector=FaceDetector(num_threads=args.threads),
        embedder=Embedder.from_checkpoint(args.checkpoint, num_threads=args.threads),
    )
    results = {"checkpoint": str(args.checkpoint), "pairs_file": str(args.pairs), **evaluate(pipeline, args.pairs, args.root)}
    print(format_table(results))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if args.store:
        keep = ("accuracy", "accuracy_std", "val_at_far_1e-3", "roc_auc", "same_person_threshold", "detection_failures", "pairs_file")
        update_checkpoint_metrics(args.checkpoint, {k: results[k] for k in keep})


if __name__ == "__main__":
    main()

"""Verification benchmark for a checkpoint on a View-2 pairs file: 10-fold accuracy with
each fold's threshold chosen on the other nine (mean and std), VAL at FAR = 1e-3, ROC AUC.

    python -m ml.evaluation.evaluate --root ../shared/datasets/celeba5/test \
        --pairs ../shared/datasets/celeba5/pairs_test.txt --checkpoint models/dlib_resnet_v1.pt [--json out.json] \
        [--border replicate grey] [--cut 0.3]

Every image goes through the same decoder, detector and aligner as an upload. An image
without a detected face is counted as a detection failure and its pairs are scored at
the worst distance (2.0), so failures cost accuracy instead of vanishing.

``--border`` names what fills the part of a crop outside the photo; several are measured in
one run on the same detections. Few celeba5 faces reach the edge of their image (the
count is printed), so ``--cut`` makes them: each image first loses that share of its width
or height on one side, as a photo whose frame cuts the face.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ml.faces.align import BORDERS, NETWORK_BORDER, outside_mask
from ml.faces.boxes import central_face
from ml.faces.checkpoint import update_checkpoint_metrics
from ml.faces.detect import FaceDetector
from ml.faces.embed import load_embedder
from ml.faces.imageio import DecodedImage, decode_image
from ml.faces.pipeline import FacePipeline
from ml.evaluation.verification import WORST_DISTANCE, kfold_accuracy, read_pairs, roc_auc, val_at_far


def cut_off(image: DecodedImage, fraction: float, side: int) -> DecodedImage:
    """``image`` without a band of ``fraction`` of its width or height on one side (0 left,
    1 top, 2 right, 3 bottom): a portrait whose face the frame cuts."""
    height, width = image.pixels.shape[:2]
    dx, dy = round(fraction * width), round(fraction * height)
    pixels = [image.pixels[:, dx:], image.pixels[dy:], image.pixels[:, : width - dx], image.pixels[: height - dy]][side]
    return DecodedImage(np.ascontiguousarray(pixels), round(pixels.shape[1] / image.scale),
                        round(pixels.shape[0] / image.scale), image.scale, image.taken_at)


def embed_images(
    pipeline: FacePipeline, paths: list[Path], borders: tuple[str, ...] = (NETWORK_BORDER,), *,
    cut: float = 0.0, batch: int = 64,
) -> tuple[dict[str, dict[Path, np.ndarray | None]], dict[Path, float]]:
    """Per border, each image's central-face embedding (None: no face); and per image with
    a face the share of its crop that lies outside the photo (the part the border fills).
    Each image is detected once and aligned once per border. ``cut`` > 0 first cuts that
    share off each image, on the sides in turn."""
    embeddings: dict[str, dict[Path, np.ndarray | None]] = {border: {} for border in borders}
    outside: dict[Path, float] = {}
    for start in range(0, len(paths), batch):
        chunk = paths[start : start + batch]
        images = [decode_image(p, max_side=1600) for p in chunk]
        if cut:
            images = [cut_off(image, cut, (start + i) % 4) for i, image in enumerate(images)]
        detections = pipeline.detect(images)
        for border in borders:
            for path, image, records in zip(chunk, images, pipeline.embed_detected(images, detections, border=border)):
                face = central_face(records, image.original_width, image.original_height) if records else None
                embeddings[border][path] = None if face is None else face.embedding
                if face is not None:
                    mask = outside_mask(image.pixels.shape, face.landmarks * image.scale, pipeline.embedder.template)
                    outside[path] = float(mask.mean())
    return embeddings, outside


def verification(pairs: list, embeddings: dict[Path, np.ndarray | None]) -> dict:
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
        "images": len(embeddings),
        "detection_failures": sum(e is None for e in embeddings.values()),
        "accuracy": mean,
        "accuracy_std": std,
        "val_at_far_1e-3": val,
        "val_threshold": val_threshold,
        "roc_auc": roc_auc(distances, same),
        "same_person_threshold": float(np.median(thresholds)),
    }


def evaluate(
    pipeline: FacePipeline, pairs_file: Path, root: Path, borders: tuple[str, ...] = (NETWORK_BORDER,), *, cut: float = 0.0
) -> dict[str, dict]:
    """Metrics per crop border, each with the number of faces whose crop leaves the photo
    (the only ones the border changes) and the median share of their crop outside it."""
    pairs = read_pairs(pairs_file, root)
    paths = sorted({p.path_a for p in pairs} | {p.path_b for p in pairs})
    start = time.perf_counter()
    embeddings, outside = embed_images(pipeline, paths, borders, cut=cut)
    elapsed = time.perf_counter() - start
    at_edge = [share for share in outside.values() if share > 0]
    edge = {"cut": cut, "faces_at_edge": len(at_edge), "outside_share_median": float(np.median(at_edge)) if at_edge else 0.0}
    return {border: {"border": border, **verification(pairs, embeddings[border]), **edge, "seconds": elapsed}
            for border in borders}


def format_table(results: dict) -> str:
    rows = [
        ("accuracy (10-fold)", f"{100 * results['accuracy']:.2f} ± {100 * results['accuracy_std']:.2f} %"),
        ("VAL @ FAR=1e-3", f"{100 * results['val_at_far_1e-3']:.2f} %"),
        ("ROC AUC", f"{results['roc_auc']:.4f}"),
        ("same-person threshold (cosine distance)", f"{results['same_person_threshold']:.4f}"),
        ("detection failures", f"{results['detection_failures']} of {results['images']} images"),
        ("faces whose crop leaves the photo", f"{results['faces_at_edge']} (median share outside {results['outside_share_median']:.3f})"),
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
    parser.add_argument(
        "--border", nargs="+", choices=BORDERS, default=[NETWORK_BORDER],
        help="what fills a crop outside the photo; several are measured in one run (same detections)",
    )
    parser.add_argument(
        "--cut", type=float, default=0.0,
        help="stress test: cut this share of each image off one side (left, top, right, bottom in turn) first",
    )
    args = parser.parse_args()
    if args.store and (len(args.border) != 1 or args.cut):
        parser.error("--store takes one --border and no --cut")
    torch.set_num_threads(args.threads)
    pipeline = FacePipeline(
        detector=FaceDetector(num_threads=args.threads),
        embedder=load_embedder(args.checkpoint, num_threads=args.threads),
    )
    by_border = {
        border: {"checkpoint": str(args.checkpoint), "pairs_file": str(args.pairs), **results}
        for border, results in evaluate(pipeline, args.pairs, args.root, tuple(args.border), cut=args.cut).items()
    }
    for border, results in by_border.items():
        print(f"border: {border}\n{format_table(results)}\n")
    # One border keeps the flat layout that --store and the docs' JSON files use.
    output = next(iter(by_border.values())) if len(by_border) == 1 else by_border
    print(json.dumps(output, indent=2))
    if args.json:
        args.json.write_text(json.dumps(output, indent=2) + "\n")
    if args.store:
        keep = ("accuracy", "accuracy_std", "val_at_far_1e-3", "roc_auc", "same_person_threshold", "detection_failures", "pairs_file")
        update_checkpoint_metrics(args.checkpoint, {k: output[k] for k in keep})


if __name__ == "__main__":
    main()

"""Does a model still separate people in real photos unlike CelebA? Checkpoints side by side,
any registered kind (a fused model's crops are aligned once per template).

    python -m ml.evaluation.albumcheck --checkpoint models/dlib_resnet_v1.pt models/dlib_resnet_finetuned.pt \
        [--border replicate grey]

Labelled faces: the BBT character crops (albums/bbt/characters/<name>/, 8 people x 5) and
the obama_biden photos whose person is known from the folder or file name (train/<person>/
plus the single-person test photos). Each image goes through the upload path (decode,
detect, align); its largest face is used. Per set and checkpoint it prints:

- ordering: the share of (same-person pair, different-person pair) combinations in which
  the same-person pair is closer (ROC AUC over all pairs; ties count 1/2);
- rank-1: the share of faces whose nearest other face is the same person;
- the mean same- and different-person cosine distances.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from ml.faces.align import BORDERS, NETWORK_BORDER, align_faces, outside_mask
from ml.faces.boxes import largest_face
from ml.faces.detect import FaceDetector
from ml.faces.embed import load_embedder
from ml.faces.imageio import decode_image
from ml.evaluation.verification import roc_auc

OBAMA_BIDEN_TEST_LABELS = {  # single-person test photos, labelled from their file names
    "obama1.jpg": "obama", "obama3.jpg": "obama", "obama_partial_face.jpg": "obama",
    "obama_partial_face2.jpg": "obama", "johnsnow_test1.jpg": "kit_harington", "alex_lacamoire1.jpg": "alex_lacamoire",
}


def labelled_images(albums: Path) -> dict[str, list[tuple[Path, str]]]:
    bbt = sorted((p, p.parent.name) for p in (albums / "bbt" / "characters").glob("*/*") if p.is_file())
    ob = sorted((p, p.parent.name) for p in (albums / "obama_biden" / "train").glob("*/*") if p.is_file())
    ob += [(albums / "obama_biden" / "test" / name, who) for name, who in sorted(OBAMA_BIDEN_TEST_LABELS.items())]
    return {"bbt_characters": bbt, "obama_biden": [(p, w) for p, w in ob if p.is_file()]}


def aligned_largest_faces(
    items, detector: FaceDetector, templates: tuple, borders: tuple[str, ...]
) -> tuple[dict[str, tuple[np.ndarray, ...]], list[str], int, int]:
    """Per border the (N, S, S, 3) crops of each image's largest face, one array per
    template (a fused model's networks each take their own); their labels; the images
    without a face; the faces whose crop (of the first template) leaves the photo."""
    crops: dict[str, list[list[np.ndarray]]] = {border: [[] for _ in templates] for border in borders}
    labels, missed, at_edge = [], 0, 0
    for path, label in items:
        image = decode_image(path, max_side=1600)
        faces = detector.detect(image.pixels)
        if not faces:
            missed += 1
            continue
        landmarks = largest_face(faces).landmarks
        for border in borders:
            for template, template_crops in zip(templates, crops[border]):
                template_crops.append(align_faces(image.pixels, [landmarks], template, border=border)[0])
        labels.append(label)
        at_edge += bool(outside_mask(image.pixels.shape, landmarks, templates[0]).any())
    return {border: tuple(np.stack(c) for c in per_template) for border, per_template in crops.items()}, labels, missed, at_edge


def separation(embeddings: np.ndarray, labels: list[str]) -> dict:
    labels_arr = np.array(labels)
    distances = 1.0 - embeddings @ embeddings.T
    upper = np.triu_indices(len(labels), 1)
    same = (labels_arr[:, None] == labels_arr[None, :])[upper]
    d = distances[upper]
    np.fill_diagonal(distances, np.inf)
    nearest = distances.argmin(axis=1)
    return {
        "faces": len(labels), "people": len(set(labels)),
        "ordering_auc": roc_auc(d, same),
        "rank1": float((labels_arr[nearest] == labels_arr).mean()),
        "mean_same": float(d[same].mean()), "mean_different": float(d[~same].mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, nargs="+", required=True)
    parser.add_argument(
        "--albums", type=Path,
        default=Path(os.environ.get("FACES_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "datasets")) / "albums",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--border", nargs="+", choices=BORDERS, default=[NETWORK_BORDER],
                        help="what fills a crop outside the photo; several are measured side by side")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    detector = FaceDetector(num_threads=args.threads)
    sets = labelled_images(args.albums)
    results: dict = {}
    for checkpoint in args.checkpoint:
        embedder = load_embedder(checkpoint, num_threads=args.threads)
        for name, items in sets.items():
            crops, labels, missed, at_edge = aligned_largest_faces(items, detector, embedder.templates, tuple(args.border))
            for border, border_crops in crops.items():
                row = {**separation(embedder.embed(border_crops), labels), "no_face": missed, "at_edge": at_edge}
                # One border keeps the layout of the JSON files in docs/.
                key = str(checkpoint) if len(args.border) == 1 else f"{checkpoint} border={border}"
                results.setdefault(name, {})[key] = row
                print(f"{name:15s} {key:32s} faces {row['faces']:3d} (no face: {missed}, at edge: {at_edge})  "
                      f"ordering {row['ordering_auc']:.4f}  rank-1 {row['rank1']:.3f}  "
                      f"same {row['mean_same']:.3f}  different {row['mean_different']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

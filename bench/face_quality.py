"""Face quality filter (VISAGE_FACE_QUALITY_MIN): grouping with and without it, and the
album faces it leaves out.

    .venv/bin/python -u bench/face_quality.py [--thresholds 0 0.1 0.2 0.3 0.4 0.5] [--test]

Val (choosing): celeba5/val (907 people x 5) and the celeba_library val libraries
(celeba_library/val/<id> plus celeba5/test/<id>: a person's whole library), each grouped
as one library by ml.grouping.usable.group_usable (the grouping service's call) at each
threshold; faces below it are left unsorted and count as such. Prints pairwise
precision/recall/F1, BCubed F, the share of faces the filter leaves out and their weakest
factor, and how precisely faces of each band of quality are grouped without the filter.
The default is chosen by the rule in ``choose`` and printed. ``--test``: then the same on
celeba5/test at the chosen threshold against no filter, for reporting (never choosing),
on the test people whose images val does not use (the libraries take celeba5/test's).

Albums: every face the app's detector finds in ../shared/datasets/albums (not
bbt/characters), matched to the hand boxes of tests/fixtures/face_boxes.json; the faces
below each threshold, with their factors, and whether grouping all album faces without the
filter put them in a group.

Embeddings come from ml/evaluation/embeddings.py's cache (var/embeddings), the quality
measures from a cache beside it (detection and alignment only)."""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.evaluation.detection_scores import iou_matrix  # noqa: E402
from ml.evaluation.embeddings import split_embeddings, split_quality_measures  # noqa: E402
from ml.faces.checkpoint import read_checkpoint  # noqa: E402
from ml.faces.quality import QualityMeasures  # noqa: E402
from ml.grouping.cluster import pairwise_scores  # noqa: E402
from ml.grouping.usable import group_usable  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
# The rule: the largest threshold whose pairwise F1 stays within this many points of no
# filter on every val library. Celeba crops are clean (few faces score low), so on them a
# filter mostly costs recall (a face left out loses all its pairs); real photos (the
# albums) are where it earns its keep, and the rule lets it go as far as clean libraries
# allow at a bounded cost.
F1_TOLERANCE = 1.0
QUALITY_BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.01)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "dlib_resnet_v1_mirror.pt")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--method", default="hdbscan")
    parser.add_argument("--thresholds", type=float, nargs="*", default=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    parser.add_argument("--test", action="store_true", help="report celeba5/test at the threshold chosen on val")
    parser.add_argument("--skip-albums", action="store_true")
    parser.add_argument("--skip-library", action="store_true", help="choose on celeba5/val alone (no celeba_library embedding)")
    return parser.parse_args()


def scored_split(checkpoint: Path, root: Path) -> tuple[np.ndarray, np.ndarray, list[QualityMeasures]]:
    embeddings, labels = split_embeddings(checkpoint, root)
    measures = split_quality_measures(checkpoint, root)
    if len(measures) != len(labels):
        raise RuntimeError(f"{root}: {len(labels)} faces embedded but {len(measures)} scored")
    return embeddings, labels, measures


def library_val(checkpoint: Path, data: Path):
    """celeba_library/val/<id> with celeba5/test/<id> of the same ids: whole libraries."""
    extra = scored_split(checkpoint, data / "celeba_library" / "val")
    base = scored_split(checkpoint, data / "celeba5" / "test")
    keep = np.isin(base[1], np.unique(extra[1]))
    return (
        np.concatenate([base[0][keep], extra[0]]),
        np.concatenate([base[1][keep], extra[1]]),
        [m for m, k in zip(base[2], keep) if k] + extra[2],
    )


def test_outside_val(checkpoint: Path, data: Path):
    """celeba5/test less the people whose images the celeba_library val libraries use."""
    embeddings, labels, measures = scored_split(checkpoint, data / "celeba5" / "test")
    in_val = {path.name for path in (data / "celeba_library" / "val").iterdir()}
    keep = np.array([label not in in_val for label in labels])
    return embeddings[keep], labels[keep], [m for m, k in zip(measures, keep) if k]


def sweep(name: str, split, thresholds: list[float], *, method: str, same_person: float) -> dict[float, dict]:
    embeddings, labels, measures = split
    factors = [m.factors() for m in measures]
    quality = np.array([f.score for f in factors])
    photo_ids = np.arange(len(labels))  # one face per image
    print(f"\n{name}: {len(labels)} faces of {len(np.unique(labels))} people; "
          f"quality quartiles {np.round(np.quantile(quality, [0.01, 0.05, 0.25, 0.5]), 3).tolist()} (1/5/25/50 %)")
    print(f"{'min quality':>11} {'left out':>8} {'precision':>9} {'recall':>7} {'F1':>6} {'BCubed F':>8} {'unsorted':>8}"
          "  weakest factor of those left out")
    results = {}
    for threshold in thresholds:
        usable = quality >= threshold
        grouped = group_usable(embeddings, photo_ids, usable, method=method, threshold=same_person)
        scores = pairwise_scores(grouped, labels)
        weakest = Counter(f.weakest for f, ok in zip(factors, usable) if not ok)
        results[threshold] = {**scores, "left_out": float(1 - usable.mean())}
        print(f"{threshold:>11.2f} {100 * (1 - usable.mean()):>7.2f}% {100 * scores['precision']:>8.2f}% "
              f"{100 * scores['recall']:>6.2f}% {100 * scores['f1']:>5.2f}% {100 * scores['bcubed_f']:>7.2f}% "
              f"{100 * scores['unsorted_share']:>7.2f}%  {dict(weakest.most_common())}")
    precision_by_quality(quality, group_usable(embeddings, photo_ids, np.ones(len(labels), bool), method=method,
                                               threshold=same_person), labels)
    return results


def precision_by_quality(quality: np.ndarray, grouped: np.ndarray, truth: np.ndarray) -> None:
    """Grouped without the filter: per band of quality, how many faces were grouped and
    the share of their group-mates that are the same person. Does a low score mark the
    faces that get grouped wrongly?"""
    sizes = Counter(grouped[grouped >= 0].tolist())
    same = Counter(zip(grouped[grouped >= 0].tolist(), truth[grouped >= 0].tolist()))
    print("  without the filter, by quality: faces, grouped, pair precision of the grouped")
    for lo, hi in zip(QUALITY_BINS[:-1], QUALITY_BINS[1:]):
        band = np.flatnonzero((quality >= lo) & (quality < hi) & (grouped >= 0))
        total = (quality >= lo) & (quality < hi)
        right = sum(same[(grouped[i], truth[i])] - 1 for i in band)
        pairs = sum(sizes[grouped[i]] - 1 for i in band)
        label = f"{lo:.1f}-{hi:.1f}" if hi <= 1 else "1.0"
        print(f"  {label:>8}: {int(total.sum()):>5} {len(band):>5}  {100 * right / max(1, pairs):6.2f}% ({right}/{pairs})")


def choose(per_library: list[dict[float, dict]]) -> float:
    """The largest threshold within F1_TOLERANCE points of no filter on every library."""
    def fine(threshold: float) -> bool:
        return all(100 * (r[0.0]["f1"] - r[threshold]["f1"]) <= F1_TOLERANCE for r in per_library)

    return max(t for t in per_library[0] if fine(t))


def album_faces(checkpoint: Path, data: Path) -> list[dict]:
    """Every face the app's detector finds in the album photos, with the hand box it
    matches (IoU >= 0.3) and that box's 'hard' note."""
    from ml.faces.detect import FaceDetector
    from ml.faces.embed import Embedder
    from ml.faces.imageio import decode_image
    from ml.faces.pipeline import FacePipeline
    from ml.faces.quality import quality_measures

    fixture = json.loads((ROOT / "tests" / "fixtures" / "face_boxes.json").read_text())["photos"]
    pipeline = FacePipeline(
        detector=FaceDetector(score_threshold=0.9, min_face_px=20, detect_side=640, num_threads=2),  # settings' defaults
        embedder=Embedder.from_checkpoint(checkpoint, num_threads=2),
    )
    faces = []
    for photo_index, (name, truth) in enumerate(sorted(fixture.items())):
        image = decode_image(data / "albums" / name, max_side=1600)
        records = pipeline.process_decoded([image])[0]
        hand = np.array([f["box"] for f in truth["faces"]], dtype=float).reshape(-1, 4)
        for record in records:
            overlap = iou_matrix(np.array([record.box]), hand)[0] if len(hand) else np.zeros(0)
            match = int(np.argmax(overlap)) if len(overlap) and overlap.max() >= 0.3 else None
            faces.append({
                "photo": name, "photo_index": photo_index, "box": [round(v) for v in record.box],
                "measures": quality_measures(record.shown, record.box, record.landmarks, record.score),
                "embedding": record.embedding,
                "hard": truth["faces"][match].get("hard", "") if match is not None else "(no hand box)",
            })
    return faces


def albums(checkpoint: Path, data: Path, thresholds: list[float], *, method: str, same_person: float) -> None:
    faces = album_faces(checkpoint, data)
    embeddings = np.stack([f["embedding"] for f in faces])
    photo_ids = np.array([f["photo_index"] for f in faces])
    unfiltered = group_usable(embeddings, photo_ids, np.ones(len(faces), bool), method=method, threshold=same_person)
    quality = np.array([f["measures"].factors().score for f in faces])
    print(f"\nalbums: {len(faces)} faces found in {len(set(photo_ids.tolist()))} photos; "
          f"grouped without the filter: {int((unfiltered >= 0).sum())}")
    for threshold in thresholds[1:]:
        print(f"  below {threshold:.2f}: {int((quality < threshold).sum())} faces")
    print(f"{'photo':<34} {'box':<22} {'quality':>7} {'sharp':>6} {'size':>5} {'pose':>5} {'detect':>6}  "
          f"{'raw (lap var, px, yaw, score)':<30} grouped w/o filter  hand box note")
    for index in np.argsort(quality)[:12]:
        face, m = faces[index], faces[index]["measures"]
        f = m.factors()
        raw = f"{m.sharpness:.0f}, {m.short_side:.0f}, {m.yaw:.2f}, {m.detection_score:.3f}"
        print(f"{face['photo']:<34} {str(face['box']):<22} {f.score:>7.3f} {f.sharpness:>6.2f} {f.size:>5.2f} {f.pose:>5.2f} "
              f"{f.detection:>6.2f}  {raw:<30} {'yes' if unfiltered[index] >= 0 else 'no':<18}  {face['hard']}")


def main() -> None:
    args = parse_args()
    thresholds = sorted({0.0, *args.thresholds})
    same_person = float(read_checkpoint(args.checkpoint)["metrics"]["same_person_threshold"])
    print(f"checkpoint {args.checkpoint.name}, {args.method}, same-person threshold {same_person:.4f}")
    options = {"method": args.method, "same_person": same_person}
    val = [sweep("celeba5 val", scored_split(args.checkpoint, args.data / "celeba5" / "val"), thresholds, **options)]
    if not args.skip_library:
        val.append(sweep("celeba_library val (+ celeba5/test of its people)", library_val(args.checkpoint, args.data),
                         thresholds, **options))
    chosen = choose(val)
    print(f"\nchosen on val (largest threshold within {F1_TOLERANCE} F1 points of no filter on each): {chosen:.2f}")
    if args.test:
        sweep("celeba5 test, people outside celeba_library val (reported, not chosen on)",
              test_outside_val(args.checkpoint, args.data), [0.0, chosen], **options)
    if not args.skip_albums:
        albums(args.checkpoint, args.data, thresholds, **options)


if __name__ == "__main__":
    main()

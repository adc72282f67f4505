"""Face detection recall and precision on hand-drawn boxes, for every detector in one run.

    .venv/bin/python bench/detect.py [--detectors current ...] [--threads 2] [--misses] [--only NAME ...]

The photos and their boxes are tests/fixtures/face_boxes.json: the album photos as they
are, and variants made from them here (faces cut by the frame, a face filling the frame,
turned with and without an EXIF orientation, shrunk to 320 pixels, enlarged to 12 MP),
written to a temporary folder and deleted afterwards. Every photo goes through the upload
decoder (``decode_image`` with the app's VISAGE_DECODE_MAX_SIDE); each detector sees the
same decoded pixels and its boxes are mapped back to full resolution. The first
detector listed is the baseline the others are compared with. Prints, per detector,
recall (all faces and clear ones) and precision at IoU 0.5, recall and precision by face
size, mean ms per photo for detection alone (the detectors take turns on each photo),
and recall per kind of photo; ``--misses`` lists
every missed face and false alarm.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.benchdb import use_no_database  # noqa: E402

use_no_database()

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from bench.detectors import Ensemble, MTCNNDetector, YuNetDetector  # noqa: E402
from ml.evaluation.detection_cases import build_cases, load_fixture  # noqa: E402
from ml.evaluation.detection_scores import SIZES, Tally, score_photo, size_classes  # noqa: E402
from ml.faces.detect import FaceDetector  # noqa: E402
from ml.faces.imageio import decode_image  # noqa: E402
from webapp.faces.runtime import DETECT_TURNS, detector_options  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "face_boxes.json"


def app_detector(threads: int, **overrides) -> FaceDetector:
    """The detector as the worker builds it (webapp/faces/runtime.py), with overrides."""
    return FaceDetector(**{**detector_options(), **overrides}, num_threads=threads)


def passes(threads: int, *, turns: bool = False, upscale: bool = False, extra_sides: tuple[int, ...] = (),
           **overrides) -> FaceDetector:
    """The worker's detector with exactly these extra passes, whatever the settings say."""
    return app_detector(threads, turns=DETECT_TURNS if turns else (), upscale=upscale, extra_sides=extra_sides,
                        **overrides)


DETECTORS = {
    "one pass": lambda threads: passes(threads),  # the worker's detector until December 2026
    "current": lambda threads: app_detector(threads),
    "side1280": lambda threads: passes(threads, detect_side=1280),
    "+320": lambda threads: passes(threads, extra_sides=(320,)),
    "+1280": lambda threads: passes(threads, extra_sides=(1280,)),
    "upscale": lambda threads: passes(threads, upscale=True),
    "turns": lambda threads: passes(threads, turns=True),
    "turns+upscale": lambda threads: passes(threads, turns=True, upscale=True),
    "turns+upscale+320": lambda threads: passes(threads, turns=True, upscale=True, extra_sides=(320,)),
    "yunet": lambda threads: YuNetDetector(side=settings.VISAGE_DETECT_SIDE),
    "yunet0.6": lambda threads: YuNetDetector(side=settings.VISAGE_DETECT_SIDE, score_threshold=0.6),
    "yunet0.7": lambda threads: YuNetDetector(side=settings.VISAGE_DETECT_SIDE, score_threshold=0.7),
    "turns+upscale & yunet0.7": lambda threads: Ensemble(
        passes(threads, turns=True, upscale=True),
        YuNetDetector(side=settings.VISAGE_DETECT_SIDE, score_threshold=0.7)),
    "mtcnn": lambda threads: MTCNNDetector(side=settings.VISAGE_DETECT_SIDE, threads=threads),
    "mtcnn0.95": lambda threads: MTCNNDetector(side=settings.VISAGE_DETECT_SIDE, thresholds=(0.6, 0.7, 0.95),
                                               threads=threads),
}


def run_detectors(detectors: dict, decoded) -> dict[str, tuple[list[tuple[np.ndarray, np.ndarray]], float]]:
    """Per detector: boxes (full-resolution pixels) and scores per photo, and the mean ms
    per photo. The detectors take turns on each photo, so that a change in the machine's
    load during the run weighs on all of them alike."""
    for detector in detectors.values():
        detector.detect(decoded[0].pixels)  # warm-up
    results = {name: [] for name in detectors}
    elapsed = dict.fromkeys(detectors, 0.0)
    for image in decoded:
        for name, detector in detectors.items():
            start = time.perf_counter()
            faces = detector.detect(image.pixels)
            elapsed[name] += time.perf_counter() - start
            boxes = np.array([f.box for f in faces], dtype=float).reshape(-1, 4) / image.scale
            results[name].append((boxes, np.array([f.score for f in faces], dtype=float)))
    return {name: (results[name], elapsed[name] * 1000 / len(decoded)) for name in detectors}


def fmt(value: float) -> str:
    return "—" if np.isnan(value) else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=list(DETECTORS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--misses", action="store_true", help="list every missed face and false alarm")
    parser.add_argument("--only", nargs="+", help="photo paths or variant names to keep")
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--single-face", type=int, default=0, metavar="N",
                        help="also count false alarms on the first N celeba5 test crops (one face each)")
    args = parser.parse_args()
    # yuface's OpenMP, read when it loads; passive, so that its idle threads do not spin
    # while the other detectors take their turn.
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    albums = Path(settings.FACES_DATA_DIR) / "albums"
    fixture = load_fixture(args.fixture)

    with tempfile.TemporaryDirectory(prefix="detect-bench-") as folder:
        cases = build_cases(fixture, albums, Path(folder), only=set(args.only) if args.only else None)
        start = time.perf_counter()
        decoded = [decode_image(c.path, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS,
                                max_side=settings.VISAGE_DECODE_MAX_SIDE) for c in cases]
        decode_ms = (time.perf_counter() - start) * 1000 / len(cases)
    for case, image in zip(cases, decoded):
        if (image.original_width, image.original_height) != case.size:
            raise SystemExit(f"{case.name}: decoded as {image.original_width}x{image.original_height}, "
                             f"labelled {case.size[0]}x{case.size[1]}")
    faces = sum(len(c.boxes) for c in cases)
    kinds = list(dict.fromkeys(c.kind for c in cases))  # originals first, then as the fixture lists them
    print(f"{len(cases)} photos ({sum(c.kind == 'original' for c in cases)} album photos, the rest variants), "
          f"{faces} faces ({sum(int(c.hard.sum()) for c in cases)} hard); decode {decode_ms:.1f} ms/photo "
          f"(max side {settings.VISAGE_DECODE_MAX_SIDE}); IoU 0.5; threads {args.threads}")

    detectors = {}
    for name in args.detectors:
        try:
            detectors[name] = DETECTORS[name](args.threads)
        except ImportError as missing:
            print(f"{name}: skipped, {missing} (make bench-detect installs requirements-bench.txt)")
    runs = run_detectors(detectors, decoded)
    baseline_ms = next(iter(runs.values()))[1]
    summary, per_kind, details = [], [], []
    for name, (results, ms) in runs.items():
        total, by_kind = Tally(), defaultdict(Tally)
        for case, (boxes, scores) in zip(cases, results):
            score = score_photo(case.boxes, case.hard, case.ignore, boxes, scores, *case.size)
            total.add(score)
            by_kind[case.kind].add(score)
            missed = [f"{[round(v) for v in case.boxes[i]]}{' (hard)' if case.hard[i] else ''}"
                      for i in np.flatnonzero(~score.found)]
            alarms = [str([round(v) for v in box]) for box in score.false_alarms]
            if missed or alarms:
                details.append(f"{name:10s} {case.name}: missed {', '.join(missed) or '-'}; "
                               f"false alarms {', '.join(alarms) or '-'}")
        found, alarms = sum(total.found.values()), sum(total.alarms.values())
        summary.append(f"| {name} | {fmt(total.recall())} ({found}/{faces}) | {fmt(total.clear_recall())} | "
                       f"{fmt(total.precision())} ({alarms} false) | "
                       + " | ".join(f"{fmt(total.recall(s))} / {fmt(total.precision(s))}" for s in SIZES)
                       + f" | {ms:.1f} (x{ms / baseline_ms:.2f}) |")
        per_kind.append(f"| {name} | " + " | ".join(fmt(by_kind[f].recall()) for f in kinds) + " |")

    sizes = Counter(size for case in cases for size in size_classes(case.boxes, *case.size))
    print("\n| detector | recall | recall, clear faces | precision | "
          + " | ".join(f"{s} ({sizes[s]}): recall / precision" for s in SIZES) + f" | detect ms/photo (x {next(iter(runs))}) |")
    print("|---" * (5 + len(SIZES)) + "|")
    print("\n".join(summary))
    counts = Counter()
    for case in cases:
        counts[case.kind] += len(case.boxes)
    print("\nRecall by kind of photo (faces):\n")
    print("| detector | " + " | ".join(f"{f} ({counts[f]})" for f in kinds) + " |")
    print("|---" * (1 + len(kinds)) + "|")
    print("\n".join(per_kind))
    if args.misses:
        print("\n" + "\n".join(details))
    if args.single_face:
        single_face_counts(detectors, Path(settings.FACES_DATA_DIR) / "celeba5" / "test", args.single_face)


def single_face_counts(detectors: dict, folder: Path, count: int) -> None:
    """On crops that hold exactly one face each, a second box is a false alarm."""
    paths = sorted(folder.glob("*/*.webp"))[:count]
    decoded = [decode_image(p, max_side=settings.VISAGE_DECODE_MAX_SIDE) for p in paths]
    print(f"\n{len(paths)} celeba5 test crops (128x128, one face each):\n")
    print("| detector | no face | two or more boxes | boxes in all |")
    print("|---|---|---|---|")
    for name, (results, _) in run_detectors(detectors, decoded).items():
        found = [len(scores) for _, scores in results]
        print(f"| {name} | {sum(n == 0 for n in found)} | {sum(n > 1 for n in found)} | {sum(found)} |")


if __name__ == "__main__":
    main()

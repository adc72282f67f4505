"""Visage's face pipeline side by side with what a user would run instead, in one run.

    make bench-peers          # or: .venv-bench/bin/python bench/peers.py [--celeba 500] [--threads 2]

The peer is the ``face_recognition`` package (dlib's HOG face detector, its 5-point shape
predictor and its ResNet embedding: what LibrePhotos runs), installed by `make
bench-venv` from requirements-bench.txt, never in the app. Visage is the worker's
pipeline as the settings build it (webapp/faces/runtime.py detector_options) with the
active model's file (default ``dlib_resnet_v1_mirror.pt``).

Workloads: (a) the first N celeba5 test images (N/5 people, 5 images each, 128x128 with
one face); (b) the album photos with hand-drawn boxes (tests/fixtures/face_boxes.json).
Printed for each pipeline, and as ratios Visage / peer:
- faces found: on (a) the images with a face; on (b) recall and precision at IoU 0.5
  against the hand-drawn boxes;
- verification on (a): every same-person pair and as many different-person pairs (fixed
  seed), kept where both pipelines found a face so that both answer the same pairs:
  accuracy at each pipeline's own threshold (face_recognition's documented tolerance 0.6;
  Visage's "same person" distance, FAR 1e-3 by its calibration), accuracy with the
  threshold chosen on the other folds (10 folds, by person), and VAL at FAR 1e-3;
- photos per second for the whole pipeline (decode, detect, landmarks and alignment,
  embed), each pipeline taking its turn on each photo so that a change in the machine's
  load hits both.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.benchdb import use_no_database  # noqa: E402

use_no_database()

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from django.conf import settings  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from ml.evaluation.calibration import Calibration, calibration_path  # noqa: E402
from ml.evaluation.detection_cases import build_cases, load_fixture  # noqa: E402
from ml.evaluation.detection_scores import Tally, score_photo  # noqa: E402
from ml.evaluation.verification import kfold_accuracy, val_at_far  # noqa: E402
from ml.faces.detect import FaceDetector  # noqa: E402
from ml.faces.embed import load_embedder  # noqa: E402
from ml.faces.imageio import decode_image  # noqa: E402
from ml.faces.pipeline import FacePipeline  # noqa: E402
from webapp.faces.runtime import detector_options  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "face_boxes.json"
# face_recognition's documented default: two faces are the same person below this
# Euclidean distance between its embeddings (face_recognition.compare_faces).
PEER_TOLERANCE = 0.6
SAME_PERSON_FAR = 1e-3  # Visage's "same person" (webapp/faces/calibration.py)


class Visage:
    name = "Visage"

    def __init__(self, checkpoint: Path, threads: int) -> None:
        self.pipeline = FacePipeline(detector=FaceDetector(**detector_options(), num_threads=threads),
                                     embedder=load_embedder(checkpoint, num_threads=threads))
        calibration = Calibration.from_dict(json.loads(calibration_path(checkpoint).read_text()))
        self.threshold = calibration.threshold_at_far(SAME_PERSON_FAR)

    def faces(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (K, 4) in full-resolution pixels and embeddings (K, D)."""
        image = decode_image(path, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS, max_side=settings.VISAGE_DECODE_MAX_SIDE)
        [records] = self.pipeline.process_decoded([image])
        dim = self.pipeline.embedder.embedding_dim
        return (np.array([r.box for r in records]).reshape(-1, 4),
                np.array([r.embedding for r in records], dtype=np.float32).reshape(len(records), dim))

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(1.0 - a @ b)


class FaceRecognition:
    name = "face_recognition"

    def __init__(self) -> None:
        import face_recognition  # requirements-bench.txt

        self.library = face_recognition
        self.threshold = PEER_TOLERANCE

    def faces(self, path: Path) -> tuple[np.ndarray, np.ndarray]:
        with Image.open(path) as image:  # as a photo app would open it: EXIF orientation applied
            pixels = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        locations = self.library.face_locations(pixels)  # HOG, upsampled once: its defaults
        encodings = self.library.face_encodings(pixels, known_face_locations=locations)
        boxes = np.array([(left, top, right, bottom) for top, right, bottom, left in locations], float).reshape(-1, 4)
        return boxes, np.array(encodings, dtype=np.float64).reshape(len(encodings), 128)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))


def run_all(pipelines, paths: list[Path]) -> tuple[dict, dict]:
    """Per pipeline: the faces of each photo, and its photos per second (after one
    untimed photo, which loads the models and warms their first runs)."""
    for pipeline in pipelines:
        pipeline.faces(paths[0])
    results = {p.name: [] for p in pipelines}
    seconds = dict.fromkeys(results, 0.0)
    for path in paths:
        for pipeline in pipelines:
            start = time.perf_counter()
            results[pipeline.name].append(pipeline.faces(path))
            seconds[pipeline.name] += time.perf_counter() - start
    return results, {name: len(paths) / s for name, s in seconds.items()}


def largest_face(boxes: np.ndarray, embeddings: np.ndarray) -> np.ndarray | None:
    if not len(boxes):
        return None
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return embeddings[int(areas.argmax())]


def celeba_pairs(people: list[str], per_person: int, rng: np.random.Generator) -> list[tuple[int, int, bool]]:
    """Indices into the image list: every same-person pair, and as many different ones."""
    same = [(p * per_person + i, p * per_person + j, True)
            for p in range(len(people)) for i in range(per_person) for j in range(i + 1, per_person)]
    different = set()
    while len(different) < len(same):
        a, b = rng.choice(len(people) * per_person, size=2, replace=False)
        if a // per_person != b // per_person:
            different.add((int(min(a, b)), int(max(a, b)), False))
    return same + sorted(different)


def verification(pipeline, embeddings: list, pairs, people_of) -> dict:
    distances = np.array([pipeline.distance(embeddings[a], embeddings[b]) for a, b, _ in pairs])
    same = np.array([s for _, _, s in pairs])
    folds = np.array([people_of(a) % 10 for a, _, _ in pairs])
    kfold, _, _ = kfold_accuracy(distances, same, folds)
    val, _ = val_at_far(distances, same, 1e-3)
    return {"own": float(((distances <= pipeline.threshold) == same).mean()), "kfold": kfold, "val": val}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--celeba", type=int, default=500, help="celeba5 test images (a multiple of 5)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", default="dlib_resnet_v1_mirror.pt", help="Visage's model, a file in models/")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(settings.FACES_DATA_DIR)
    pipelines = [Visage(Path(settings.MODELS_DIR) / args.checkpoint, args.threads), FaceRecognition()]
    names = [p.name for p in pipelines]
    print(f"Visage: {args.checkpoint}, detector {detector_options()}, {args.threads} torch threads; "
          f"face_recognition: HOG detector, 5-point landmarks, dlib ResNet (dlib uses its own threads)")

    per_person = 5
    people = sorted(p.name for p in (data / "celeba5" / "test").iterdir())[: args.celeba // per_person]
    images = [path for person in people for path in sorted((data / "celeba5" / "test" / person).glob("*.webp"))]
    faces, rate = run_all(pipelines, images)
    embeddings = {name: [largest_face(*found) for found in faces[name]] for name in names}
    found = {name: sum(e is not None for e in embeddings[name]) for name in names}
    pairs = celeba_pairs(people, per_person, np.random.default_rng(0))
    both = [(a, b, s) for a, b, s in pairs if all(embeddings[n][a] is not None and embeddings[n][b] is not None
                                                  for n in names)]
    scores = {p.name: verification(p, embeddings[p.name], both, lambda index: index // per_person) for p in pipelines}
    print(f"\n== celeba5 test: {len(images)} images of {len(people)} people; {len(both)} of {len(pairs)} pairs "
          f"({sum(s for *_, s in both)} same) where both found the face\n")
    rows = [("images with a face found", lambda n: f"{found[n]} / {len(images)}", lambda n: found[n]),
            ("accuracy at its own threshold", lambda n: f"{scores[n]['own']:.2%}", lambda n: scores[n]["own"]),
            ("accuracy, 10-fold threshold", lambda n: f"{scores[n]['kfold']:.2%}", lambda n: scores[n]["kfold"]),
            ("VAL at FAR 1e-3", lambda n: f"{scores[n]['val']:.1%}", lambda n: scores[n]["val"]),
            ("photos per second", lambda n: f"{rate[n]:.1f}", lambda n: rate[n])]
    print_table(rows, names)

    fixture = load_fixture(FIXTURE)
    # The album photos as they are: no variant is written, so no folder is needed.
    photos = build_cases(fixture, data / "albums", Path("/nonexistent"), only=set(fixture["photos"]))
    faces, rate = run_all(pipelines, [photo.path for photo in photos])
    tallies = {}
    for name in names:
        tally = Tally()
        for photo, (boxes, _) in zip(photos, faces[name]):
            tally.add(score_photo(photo.boxes, photo.hard, photo.ignore, boxes, np.ones(len(boxes)), *photo.size))
        tallies[name] = tally
    labelled = sum(len(photo.boxes) for photo in photos)
    print(f"\n== album photos: {len(photos)} photos, {labelled} faces boxed by hand\n")
    rows = [("faces found (recall at IoU 0.5)", lambda n: f"{tallies[n].recall():.3f}", lambda n: tallies[n].recall()),
            ("precision", lambda n: f"{tallies[n].precision():.3f}", lambda n: tallies[n].precision()),
            ("photos per second", lambda n: f"{rate[n]:.2f}", lambda n: rate[n])]
    print_table(rows, names)


def print_table(rows, names: list[str]) -> None:
    print(f"| | {' | '.join(names)} | {names[0]} / {names[1]} |")
    print("|---" * (len(names) + 2) + "|")
    for label, text, value in rows:
        ratio = value(names[0]) / value(names[1]) if value(names[1]) else float("inf")
        print(f"| {label} | {' | '.join(text(n) for n in names)} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()

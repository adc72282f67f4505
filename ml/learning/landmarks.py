"""Landmark cache: every image of a split detected once, so several networks with
different alignment templates can be fed from the same detections.

    python -m ml.learning.landmarks --split train --out var/fusion/landmarks_train.npz

Each image goes through ``decode_image`` (max side 1600) -> ``FaceDetector`` and the
face nearest the image centre is kept, as in ``ml.learning.facecache``. Stored per image:
the relative path, whether a face was found, and its five landmarks in the decoded
image's pixels (re-decoding the image gives the same pixels, so aligning later with any
template reproduces the upload path). Detection is the costly step on this CPU; the
build is resumable (progress is saved every chunk).
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.faces.boxes import central_face
from ml.faces.imageio import ImageDecodeError, decode_image
from ml.learning.facecache import list_images

MAX_SIDE = 1600


@dataclass
class Landmarks:
    paths: list[str]  # <person>/<file>, relative to root
    ok: np.ndarray  # (N,) bool: a face was found
    points: np.ndarray  # (N, 5, 2) float32, decoded-image pixels (zeros where not ok)
    root: Path

    @property
    def people(self) -> np.ndarray:
        return np.array([p.split("/")[0] for p in self.paths])


def _save(out: Path, paths: list[str], ok: np.ndarray, points: np.ndarray, done: int, root: Path) -> None:
    temp = out.with_name(f".{out.stem}.tmp.npz")
    np.savez(temp, paths=np.array(paths), ok=ok, points=points, done=np.int64(done), root=str(root))
    os.replace(temp, out)


def build_landmarks(root: Path, out: Path, *, images: list[Path] | None = None, threads: int = 2, chunk: int = 500,
                    log=print) -> Landmarks:
    """``images``: only these (under root, in this order); default every image of the split."""
    from ml.faces.detect import FaceDetector

    root, out = Path(root), Path(out)
    paths = [str(p.relative_to(root)) for p in (list_images(root) if images is None else images)]
    ok, points, done = np.zeros(len(paths), bool), np.zeros((len(paths), 5, 2), np.float32), 0
    if out.is_file():
        stored = np.load(out)
        if list(stored["paths"]) == paths:
            ok, points, done = stored["ok"].copy(), stored["points"].copy(), int(stored["done"])
    if done < len(paths):
        out.parent.mkdir(parents=True, exist_ok=True)
        detector = FaceDetector(num_threads=threads)
        start, first = time.perf_counter(), done
        for index in range(done, len(paths)):
            try:
                image = decode_image(root / paths[index], max_side=MAX_SIDE)
                faces = detector.detect(image.pixels)
            except ImageDecodeError:
                faces = []
            if faces:
                face = central_face(faces, image.pixels.shape[1], image.pixels.shape[0])
                ok[index], points[index] = True, face.landmarks
            if (index + 1) % chunk == 0 or index + 1 == len(paths):
                _save(out, paths, ok, points, index + 1, root)
                rate = (time.perf_counter() - start) * 1000 / (index + 1 - first)
                log(f"{out.name}: {index + 1}/{len(paths)}, {rate:.1f} ms/image, {index + 1 - ok[: index + 1].sum()} without a face",
                    flush=True)
    return Landmarks(paths, ok, points, root)


def load_landmarks(out: Path, *, partial: bool = False) -> Landmarks:
    """The cache; ``partial``: an unfinished one's first images (whole people, as images
    are sorted by person), for training on part of a split when the CPU allows no more."""
    stored = np.load(out)
    done = int(stored["done"])
    if done != len(stored["paths"]) and not partial:
        raise ValueError(f"{out}: incomplete ({done} of {len(stored['paths'])}); run python -m ml.learning.landmarks")
    paths = [str(p) for p in stored["paths"][:done]]
    if done < len(stored["paths"]):  # the person the stop cut into is dropped
        cut = str(stored["paths"][done]).split("/")[0]
        paths = [p for p in paths if p.split("/")[0] != cut]
    return Landmarks(paths, stored["ok"][: len(paths)], stored["points"][: len(paths)], Path(str(stored["root"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="folder with <person>/<image>; default ../shared/datasets/celeba5/<split>")
    parser.add_argument("--split", default="train")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    data = Path(os.environ.get("FACES_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "datasets"))
    marks = build_landmarks(args.root or data / "celeba5" / args.split, args.out, threads=args.threads)
    print(f"{args.out}: {len(marks.paths)} images, {int((~marks.ok).sum())} without a face")


if __name__ == "__main__":
    main()

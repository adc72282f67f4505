"""Aligned-face cache: every image of a split through the upload path once.

    python -m ml.learning.facecache --root ../shared/datasets/celeba5/train --out var/facecache/train.npy

Each image goes through ``decode_image`` -> ``FaceDetector`` -> ``align_faces`` with the
network's template (DLIB_150), exactly like an upload; the face nearest the image centre
is kept (the subject of a portrait crop). Crops are stored as an (N, S, S, 3) uint8
``.npy`` memmap; ``<out>.json`` beside it holds, per row, the image path, the person
(folder name) and whether a face was found (rows without one are left black and marked
``ok = false``, so training skips them and evaluation scores them as failures).

The build is resumable: progress is committed every chunk, and a complete cache is
left alone unless ``--force``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.faces.align import DLIB_150, AlignmentTemplate, align_faces
from ml.faces.boxes import central_face
from ml.faces.imageio import ImageDecodeError, decode_image
from ml.evaluation.verification import IMAGE_EXTENSIONS


@dataclass
class FaceCache:
    """Aligned crops of one split: crops (N, S, S, 3) uint8, labels (N,) int identity
    index, people (names by label), paths (N,) relative paths, ok (N,) bool."""

    crops: np.ndarray
    labels: np.ndarray
    people: list[str]
    paths: list[str]
    ok: np.ndarray
    root: str

    def index_of(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.paths)}


def list_images(root: Path) -> list[Path]:
    """Images under root/<person>/, sorted by person then file name."""
    suffixes = {f".{e}" for e in IMAGE_EXTENSIONS}
    return sorted(p for p in root.glob("*/*") if p.suffix.lower() in suffixes)


def _sidecar(out: Path) -> Path:
    return out.with_suffix(".json")


def _write_json_atomic(path: Path, data: dict) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data))
    os.replace(temp, path)


def build_cache(
    root: Path,
    out: Path,
    *,
    template: AlignmentTemplate = DLIB_150,
    threads: int = 2,
    limit: int | None = None,
    only: set[str] | None = None,
    chunk: int = 500,
    force: bool = False,
    log=print,
) -> FaceCache:
    from ml.faces.detect import FaceDetector

    root, out = Path(root), Path(out)
    images = list_images(root)
    if only is not None:  # relative paths, e.g. the images a subset of pairs needs
        images = [p for p in images if str(p.relative_to(root)) in only]
    if limit:
        images = images[:limit]
    if not images:
        raise FileNotFoundError(f"no images under {root}/<person>/")
    rel = [str(p.relative_to(root)) for p in images]
    side = _sidecar(out)
    meta = json.loads(side.read_text()) if side.is_file() and out.is_file() and not force else None
    if meta is not None and (meta["paths"] != rel or meta["size"] != template.size):
        log(f"{out}: cache was built for other images or template; rebuilding")
        meta = None
    if meta is None:
        out.parent.mkdir(parents=True, exist_ok=True)
        np.lib.format.open_memmap(out, mode="w+", dtype=np.uint8, shape=(len(images), template.size, template.size, 3)).flush()
        meta = {"root": str(root), "size": template.size, "template": template.to_dict(), "paths": rel,
                "ok": [False] * len(images), "done": 0, "complete": False}
        _write_json_atomic(side, meta)
    if meta["complete"]:
        log(f"{out}: complete ({len(images)} images, {len(images) - sum(meta['ok'])} without a face); skipping")
        return load_cache(out)

    detector = FaceDetector(num_threads=threads)
    crops = np.load(out, mmap_mode="r+")
    start_time, start_index = time.perf_counter(), meta["done"]
    for index in range(meta["done"], len(images)):
        try:
            image = decode_image(images[index], max_side=1600)
            detections = detector.detect(image.pixels)
        except ImageDecodeError:
            detections = []
        if detections:
            face = central_face(detections, image.pixels.shape[1], image.pixels.shape[0])
            crops[index] = align_faces(image.pixels, [face.landmarks], template)[0]
            meta["ok"][index] = True
        if (index + 1) % chunk == 0 or index + 1 == len(images):
            crops.flush()  # pixels reach the file before the progress that vouches for them
            meta["done"] = index + 1
            meta["complete"] = index + 1 == len(images)
            _write_json_atomic(side, meta)
            rate = (time.perf_counter() - start_time) * 1000 / (index + 1 - start_index)
            log(f"{out.name}: {index + 1}/{len(images)} images, {rate:.1f} ms/image, "
                f"{index + 1 - sum(meta['ok'][: index + 1])} without a face")
    del crops
    return load_cache(out)


def write_cache(out: Path, *, parts: list[np.ndarray], paths: list[str], ok: np.ndarray, root: str) -> FaceCache:
    """Store crops gathered elsewhere (a library's confirmed faces, a slice of another
    cache) as one complete cache, the (N_i, S, S, 3) uint8 ``parts`` one after another.
    paths are ``<person>/<name>``: the first component is the identity."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if sum(len(part) for part in parts) != len(paths):
        raise ValueError(f"{sum(len(part) for part in parts)} crops but {len(paths)} paths")
    temp = out.with_name(f".{out.name}.tmp.npy")
    crops = np.lib.format.open_memmap(temp, mode="w+", dtype=np.uint8, shape=(len(paths), *parts[0].shape[1:]))
    begin = 0
    for part in parts:
        crops[begin : begin + len(part)] = part
        begin += len(part)
    crops.flush()
    del crops
    os.replace(temp, out)
    _write_json_atomic(_sidecar(out), {"root": root, "size": int(parts[0].shape[1]), "paths": list(paths),
                                       "ok": [bool(v) for v in ok], "done": len(paths), "complete": True})
    return load_cache(out)


def load_cache(out: str | os.PathLike, *, in_memory: bool = False) -> FaceCache:
    out = Path(out)
    meta = json.loads(_sidecar(out).read_text())
    if not meta.get("complete"):
        raise ValueError(f"{out}: cache incomplete ({meta.get('done')} of {len(meta['paths'])}); run python -m ml.learning.facecache")
    crops = np.load(out, mmap_mode=None if in_memory else "r")
    people = sorted({p.split("/")[0] for p in meta["paths"]})
    label_of = {name: i for i, name in enumerate(people)}
    labels = np.array([label_of[p.split("/")[0]] for p in meta["paths"]], dtype=np.int64)
    return FaceCache(crops, labels, people, meta["paths"], np.array(meta["ok"], bool), meta["root"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, help="folder with <person>/<image>; default ../shared/datasets/celeba5/<split>")
    parser.add_argument("--split", default="train", help="celeba5 split, used when --root is not given")
    parser.add_argument("--out", type=Path, required=True, help="the .npy to write (sidecar .json beside it)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, help="only the first N images (for trials)")
    parser.add_argument("--force", action="store_true", help="rebuild even when complete")
    args = parser.parse_args()
    data = Path(os.environ.get("FACES_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "datasets"))
    root = args.root or data / "celeba5" / args.split
    cache = build_cache(root, args.out, threads=args.threads, limit=args.limit, force=args.force)
    print(f"{args.out}: {len(cache.paths)} images of {len(cache.people)} people, {int((~cache.ok).sum())} without a face")


if __name__ == "__main__":
    main()

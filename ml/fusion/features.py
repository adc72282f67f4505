"""Backbone features of a split, cached to disk: every face decoded and aligned once per
template, each frozen network run on the crop and on its mirror image.

    python -m ml.fusion.features --landmarks var/fusion/landmarks_test.npz \
        --pairs ../shared/datasets/celeba5/pairs_test.txt --out var/fusion/features_test
    python -m ml.fusion.features --landmarks var/fusion/landmarks_train.npz --out var/fusion/features_train --no-mirror

The landmarks come from ``ml.learning.landmarks`` (one detection per image). Work goes in
chunks of images, each written as ``<out>/part_NNNNN.npz`` when done, so a stopped run
resumes and a partial training cache is usable; several processes may share a split (each
claims a chunk first), which on a shared CPU buys a larger share of it. Images are taken person by person in a
seeded random order of people, so any prefix of the chunks holds whole people.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from ml.faces.align import AlignmentTemplate, align_faces
from ml.faces.imageio import decode_image
from ml.fusion.backbones import BACKBONE_NAMES, Backbone, standard_backbones
from ml.learning.landmarks import MAX_SIDE, Landmarks, load_landmarks


def person_order(people: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices grouped by person, people in a seeded random order."""
    names = np.unique(people)
    rank = {name: i for i, name in enumerate(np.random.default_rng(seed).permutation(names))}
    return np.array(sorted(range(len(people)), key=lambda i: (rank[people[i]], i)), dtype=np.int64)


def aligned_crops(marks: Landmarks, indices: np.ndarray, templates: tuple[AlignmentTemplate, ...]) -> tuple[np.ndarray, ...]:
    """Per template, the (N, S, S, 3) crops of the faces ``indices`` (each image decoded once)."""
    images = [decode_image(marks.root / marks.paths[i], max_side=MAX_SIDE).pixels for i in indices]
    return tuple(np.stack([align_faces(image, [marks.points[i]], template)[0] for image, i in zip(images, indices)])
                 if len(indices) else np.zeros((0, template.size, template.size, 3), np.uint8) for template in templates)


def chunk_features(marks: Landmarks, indices: np.ndarray, backbones: list[Backbone], *, mirror: bool) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"index": indices}
    templates = {b.template.name: b.template for b in backbones}
    crops = dict(zip(templates, aligned_crops(marks, indices, tuple(templates.values()))))
    for backbone in backbones:
        crop = crops[backbone.template.name]
        out[backbone.name] = backbone.embed(crop)
        if mirror:
            out[f"{backbone.name}_mirror"] = backbone.embed(np.ascontiguousarray(crop[:, :, ::-1]))
    return out


def _claim(path: Path) -> bool:
    """Take the chunk for this process: create its claim file holding our pid; a claim
    whose process is gone (a stopped run) is taken over."""
    try:
        handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            os.kill(int(path.read_text() or 0), 0)
            return False  # its owner is alive (or is still writing its pid)
        except PermissionError:
            return False
        except (ProcessLookupError, ValueError, FileNotFoundError):
            path.unlink(missing_ok=True)
            return _claim(path)
    os.write(handle, str(os.getpid()).encode())
    os.close(handle)
    return True


def build_features(marks: Landmarks, out: Path, backbones: list[Backbone], *, only: set[str] | None = None,
                   mirror: bool = True, chunk: int = 200, log=print) -> None:
    """Several processes can share one split: each claims a chunk before working on it."""
    out.mkdir(parents=True, exist_ok=True)
    keep = np.array([ok and (only is None or path in only) for ok, path in zip(marks.ok, marks.paths)])
    order = [i for i in person_order(marks.people) if keep[i]]
    start = time.perf_counter()
    for number, begin in enumerate(range(0, len(order), chunk)):
        part = out / f"part_{number:05d}.npz"
        if part.exists() or not _claim(out / f".{part.stem}.claim"):
            continue
        features = chunk_features(marks, np.array(order[begin : begin + chunk]), backbones, mirror=mirror)
        temp = out / f".{part.stem}.tmp.npz"
        np.savez(temp, **features)
        os.replace(temp, part)
        log(f"{out.name}: {min(begin + chunk, len(order))}/{len(order)} faces, "
            f"{(time.perf_counter() - start) / 60:.1f} min", flush=True)


def load_features(out: Path, marks: Landmarks) -> tuple[dict[str, np.ndarray], list[str]]:
    """The finished parts joined: per key an (N, D) array, and the N relative paths."""
    parts = [np.load(p) for p in sorted(Path(out).glob("part_*.npz"))]
    if not parts:
        raise FileNotFoundError(f"no features under {out}; run python -m ml.fusion.features")
    joined = {key: np.concatenate([p[key] for p in parts]) for key in parts[0].files}
    paths = [marks.paths[i] for i in joined.pop("index")]
    return joined, paths


def pair_images(pairs_file: Path, root: Path) -> set[str]:
    from ml.evaluation.verification import read_pairs

    pairs = read_pairs(pairs_file, root)
    return {str(p.relative_to(root)) for pair in pairs for p in (pair.path_a, pair.path_b)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landmarks", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="folder for the part files")
    parser.add_argument("--pairs", type=Path, help="only the images this pairs file uses")
    parser.add_argument("--no-mirror", action="store_true", help="skip the mirror images (halves the cost)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--partial", action="store_true", help="use an unfinished landmark cache's finished people")
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONE_NAMES), choices=BACKBONE_NAMES)
    args = parser.parse_args()
    marks = load_landmarks(args.landmarks, partial=args.partial)
    only = pair_images(args.pairs, marks.root) if args.pairs else None
    args.out.mkdir(parents=True, exist_ok=True)
    # What the parts were made from, for ml.fusion.splits.load_split.
    (args.out / "meta.json").write_text(json.dumps({"landmarks": str(args.landmarks.resolve()),
                                                    "pairs": str(args.pairs.resolve()) if args.pairs else None,
                                                    "partial": args.partial}))
    build_features(marks, args.out, standard_backbones(tuple(args.backbones), threads=args.threads), only=only,
                   mirror=not args.no_mirror, chunk=args.chunk)


if __name__ == "__main__":
    main()

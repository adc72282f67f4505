"""How many faces reach the edge of their photo, and how far the crop's border moves their embeddings.

    .venv/bin/python -u bench/crop_border.py [--checkpoint models/dlib_resnet_v1_mirror.pt] \
        [--root ../shared/datasets/albums] [--limit N]

Every image under --root (recursively, sorted; the first --limit) goes through the upload
path (decode at 1600 px, detect, align, embed); every detected face counts. A face "at the
edge" is one whose aligned crop takes pixels from outside the photo, the only faces the
border changes (ml.faces.align.outside_mask). For those it prints the share of the crop that
is outside, and the cosine distance between the face's embedding with each border (the same
face, replicate vs grey) beside the checkpoint's same-person threshold: a distance small
beside the threshold means faces embedded with either border stay comparable within one
model version.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.faces.align import outside_mask  # noqa: E402
from ml.faces.checkpoint import read_checkpoint  # noqa: E402
from ml.faces.detect import FaceDetector  # noqa: E402
from ml.faces.embed import Embedder  # noqa: E402
from ml.faces.imageio import decode_image  # noqa: E402
from ml.faces.pipeline import FacePipeline  # noqa: E402

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "models" / "dlib_resnet_v1_mirror.pt")
    parser.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "datasets" / "albums")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    pipeline = FacePipeline(
        detector=FaceDetector(num_threads=args.threads),
        embedder=Embedder.from_checkpoint(args.checkpoint, num_threads=args.threads),
    )
    threshold = read_checkpoint(args.checkpoint)["metrics"]["same_person_threshold"]
    paths = sorted(p for p in args.root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[: args.limit]

    faces, outside, shift, names = 0, [], [], []
    for path in paths:
        image = decode_image(path, max_side=1600)
        detections = pipeline.detect([image])
        replicate, grey = (pipeline.embed_detected([image], detections, border=b)[0] for b in ("replicate", "grey"))
        faces += len(detections[0])
        for detection, a, b in zip(detections[0], replicate, grey):
            share = outside_mask(image.pixels.shape, detection.landmarks, pipeline.embedder.template).mean()
            if share > 0:
                outside.append(share)
                shift.append(1.0 - float(a.embedding @ b.embedding))
                names.append(str(path.relative_to(args.root)))

    outside, shift = np.array(outside), np.array(shift)
    print(f"{args.root}: {len(paths)} images, {faces} faces, {len(outside)} at the edge ({100 * len(outside) / max(1, faces):.1f} %)")
    if len(outside):
        print(f"share of the crop outside the photo (edge faces): median {np.median(outside):.3f}, max {outside.max():.3f}")
        print(f"cosine distance replicate vs grey, same face ({args.checkpoint.name}, same-person threshold {threshold:.4f}): "
              f"median {np.median(shift):.4f}, 95th percentile {np.percentile(shift, 95):.4f}, max {shift.max():.4f} "
              f"({shift.max() / threshold:.2f} x threshold)")
        for index in np.argsort(-shift)[:5]:
            print(f"  {names[index]}: outside {outside[index]:.3f}, distance {shift[index]:.4f}")


if __name__ == "__main__":
    main()

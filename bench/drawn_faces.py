"""How close a face added by hand ("Add a face") comes to the detector's face there.

    .venv/bin/python -u bench/drawn_faces.py [--checkpoint models/dlib_resnet_v1_mirror.pt] [--jitter 0.1]

For every face RetinaFace finds in the album photos (shared/datasets/albums), a box as a
person might drag it is made from the detector's box, each side moved by up to
``jitter`` of the box's size at random (fixed seed), and the face is made from that box
the way the app does (FacePipeline.face_in_box: the detector run on the region round the
box, else landmarks estimated from the box). Prints the cosine distance of its embedding
to the detected face's, next to the baseline of landmarks estimated from the box alone
(what a drawn face gets when the detector finds nothing there), and the checkpoint's
balanced-pairs threshold for scale. Also the time per drawn face.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.faces.align import landmarks_in_box  # noqa: E402
from ml.faces.checkpoint import read_checkpoint  # noqa: E402
from ml.faces.detect import DetectedFace, FaceDetector  # noqa: E402
from ml.faces.embed import Embedder  # noqa: E402
from ml.faces.imageio import decode_image  # noqa: E402
from ml.faces.pipeline import FacePipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(ROOT / "models" / "dlib_resnet_v1_mirror.pt"))
    parser.add_argument("--albums", default=str(ROOT.parent / "shared" / "datasets" / "albums"))
    parser.add_argument("--jitter", type=float, default=0.1)
    args = parser.parse_args()
    pipeline = FacePipeline(detector=FaceDetector(), embedder=Embedder.from_checkpoint(args.checkpoint))
    threshold = read_checkpoint(Path(args.checkpoint)).get("metrics", {}).get("same_person_threshold")
    rng = np.random.default_rng(0)
    drawn, estimated, found, seconds = [], [], 0, 0.0
    paths = sorted(Path(args.albums).glob("*/*.jpg"))
    for path in paths:
        image = decode_image(path, max_side=1600)
        for record in pipeline.process_decoded([image])[0]:
            x0, y0, x1, y1 = record.box
            size = np.array([x1 - x0, y1 - y0, x1 - x0, y1 - y0])
            box = tuple(np.array(record.box) + rng.uniform(-args.jitter, args.jitter, 4) * size)
            start = time.perf_counter()
            by_hand = pipeline.face_in_box(image, box)
            seconds += time.perf_counter() - start
            found += by_hand.score > 0
            drawn.append(1 - float(by_hand.embedding @ record.embedding))
            scaled = tuple(v * image.scale for v in box)
            alone = pipeline.embed_detected([image], [[DetectedFace(scaled, landmarks_in_box(scaled), 0.0)]])[0][0]
            estimated.append(1 - float(alone.embedding @ record.embedding))
    drawn, estimated = np.array(drawn), np.array(estimated)
    print(f"{len(drawn)} faces in {len(paths)} photos, box sides moved by up to {args.jitter:.0%}")
    print(f"balanced-pairs threshold of the checkpoint: {threshold}")
    print(f"detector on the region (the app): found the face in {found}/{len(drawn)} boxes; "
          f"distance to the detected face median {np.median(drawn):.4f}, 90th percentile {np.percentile(drawn, 90):.4f}, max {drawn.max():.4f}")
    print(f"landmarks from the box alone (baseline): median {np.median(estimated):.4f}, "
          f"90th percentile {np.percentile(estimated, 90):.4f}, max {estimated.max():.4f}")
    print(f"time per drawn face (detect on region, align, embed): {seconds / len(drawn) * 1000:.0f} ms")


if __name__ == "__main__":
    main()

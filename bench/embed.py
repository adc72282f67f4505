"""Embedding and detection speed on this machine.

    python bench/embed.py [--checkpoint models/dlib_resnet_v1.pt] [--compare models/dlib_resnet_finetuned.pt] [--threads 2] [--faces 96]
    python bench/embed.py --checkpoint models/dlib_resnet_v1_mirror.pt --compare models/fused_dlib_fr_feature.pt

Prints milliseconds per face for the embedder at batch 32 against batch 1 (the baseline,
measured in the same run), the same at batch 32 for each --compare checkpoint (any kind,
fused ones too: a face's crops for every template it needs), milliseconds per 640x480 photo for the detector, and the
per-stage split of the full pipeline on a real 640x480 photo when the albums are present.
Figures only; nothing here is a test.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml.faces.detect import FaceDetector  # noqa: E402
from ml.faces.embed import load_embedder  # noqa: E402
from ml.faces.imageio import DecodedImage, decode_image  # noqa: E402
from ml.faces.pipeline import FacePipeline  # noqa: E402


def per_item_ms(run, items: int, repeats: int) -> float:
    """Median over ``repeats`` timed runs (after one warm-up) of ms per item."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000 / items)
    return statistics.median(times)


def random_crops(embedder, faces: int) -> tuple[np.ndarray, ...]:
    """Random "faces", one array per template the embedder takes (a fused model has several)."""
    rng = np.random.default_rng(0)
    return tuple(rng.integers(0, 256, (faces, t.size, t.size, 3), dtype=np.uint8) for t in embedder.templates)


def size_note(embedder, path: Path) -> str:
    if hasattr(embedder, "model"):
        return f"{sum(p.numel() for p in embedder.model.parameters()) / 1e6:.2f} M parameters"
    return f"{len(embedder.templates)} networks, {path.stat().st_size / 1e6:.1f} MB file"  # a fused model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=REPO / "models" / "dlib_resnet_v1.pt")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--faces", type=int, default=96, help="faces per timed run (multiple of 32)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compare", type=Path, nargs="*", default=[],
                        help="further checkpoints timed at batch 32 in the same run, as ratios to --checkpoint")
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("FACES_DATA_DIR", REPO.parent / "shared" / "datasets"))
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    embedder = load_embedder(args.checkpoint, num_threads=args.threads)
    crops = random_crops(embedder, args.faces)
    one_ms = per_item_ms(lambda: [embedder.embed(tuple(c[i : i + 1] for c in crops)) for i in range(8)], 8, args.repeats)
    batch_ms = per_item_ms(lambda: embedder.embed(crops, batch_size=32), args.faces, args.repeats)
    print(f"torch threads {torch.get_num_threads()}, CUDA {torch.cuda.is_available()}")
    print(f"embed  batch 1  (baseline)  {one_ms:7.1f} ms/face")
    print(f"embed  batch 32             {batch_ms:7.1f} ms/face   x{one_ms / batch_ms:.2f} faster than batch 1")
    for other in args.compare:
        other_embedder = load_embedder(other, num_threads=args.threads)
        other_crops = random_crops(other_embedder, args.faces)
        other_ms = per_item_ms(lambda: other_embedder.embed(other_crops, batch_size=32), args.faces, args.repeats)
        print(f"embed  batch 32 {other.name:<11s} {other_ms:7.1f} ms/face   x{other_ms / batch_ms:.2f} of "
              f"{args.checkpoint.name}, {size_note(other_embedder, other)}")

    detector = FaceDetector(num_threads=args.threads)
    photo_path = args.data / "albums" / "friends" / "multiface.jpg"
    if photo_path.is_file():
        photo = decode_image(photo_path, max_side=640).pixels
    else:
        photo = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    # A 640x480 frame: crop (or pad) the photo so the detector sees exactly that size.
    frame = np.zeros((480, 640, 3), np.uint8)
    h, w = min(480, photo.shape[0]), min(640, photo.shape[1])
    frame[:h, :w] = photo[:h, :w]
    detect_ms = per_item_ms(lambda: detector.detect(frame), 1, 5 * args.repeats)
    big = np.ascontiguousarray(np.kron(frame, np.ones((4, 4, 1), np.uint8)))  # 2560x1920
    big_ms = per_item_ms(lambda: detector.detect(big), 1, args.repeats)
    print(f"detect 640x480 (baseline)   {detect_ms:7.1f} ms/photo, {len(detector.detect(frame))} faces")
    print(f"detect 2560x1920            {big_ms:7.1f} ms/photo   x{big_ms / detect_ms:.2f} of 640x480 (resize cost)")

    pipeline = FacePipeline(detector=detector, embedder=embedder)
    image = DecodedImage(frame, 640, 480, 1.0, None)
    pipeline.process_decoded([image])  # warm-up
    pipeline.timings.reset()
    runs = 3 * args.repeats
    for _ in range(runs):
        records = pipeline.process_decoded([image])[0]
    t = pipeline.timings
    print(
        f"pipeline 640x480, {len(records)} faces: detect {t.detect_ms / runs:.1f} ms, "
        f"align {t.align_ms / runs:.1f} ms, embed {t.embed_ms / runs:.1f} ms per photo"
    )


if __name__ == "__main__":
    main()

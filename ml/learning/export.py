"""Turn a training run's checkpoint into a shippable model file (float16, no optimiser).

    python -m ml.learning.export --checkpoint var/training/<run>/best.pt --out models/dlib_resnet_finetuned.pt

Keeps the config (architecture, input size, normalisation, alignment template, and the
training arguments under "training") and the validation metrics; written atomically.
Then store the app's threshold with ``python -m ml.evaluation.evaluate ... --checkpoint OUT --store``
on the val pairs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ml.faces.checkpoint import file_sha256, load_checkpoint, save_checkpoint


def export(source: Path, out: Path, *, dtype: torch.dtype = torch.float16, mirror_average: bool = False) -> None:
    model, config, metrics = load_checkpoint(source)
    if mirror_average:  # same weights, another embedding: its own version and threshold
        config = {**config, "mirror_average": True}
        metrics = {k: v for k, v in metrics.items() if k != "same_person_threshold"}
    save_checkpoint(out, model, config=config, metrics={**metrics, "exported_from": str(source)}, dtype=dtype)
    print(f"{out}: {out.stat().st_size / 2**20:.1f} MB, sha256 {file_sha256(out)}; "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters; step {config.get('training', {}).get('step')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fp32", action="store_true", help="keep float32 weights")
    parser.add_argument("--mirror-average", action="store_true",
                        help="embed each face averaged with its mirror image (ml.faces.embed.mirror_averaged)")
    args = parser.parse_args()
    export(args.checkpoint, args.out, dtype=torch.float32 if args.fp32 else torch.float16,
           mirror_average=args.mirror_average)


if __name__ == "__main__":
    main()

"""Train or fine-tune a face embedding network with the triplet loss (the command line of
ml.learning.trainer): flags -> TrainConfig -> Trainer.

    python -m ml.learning.train --recipe fine_tune --out var/training/feat_b --init models/dlib_resnet_v1.pt \
        --train-cache var/facecache/train.npy --val-cache var/facecache/val.npy \
        --val-pairs ../shared/datasets/celeba5/pairs_val.txt

(the run behind models/dlib_resnet_finetuned.pt; see docs/model.md for what else was tried).
``--recipe`` starts from one of ml.learning.config.RECIPES; any flag given overrides it.
Build the caches first with ``python -m ml.learning.facecache``. Running the same command
again resumes from the run folder's last.pt.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ml.learning.config import OPTIMIZERS, RECIPES, TrainConfig
from ml.learning.mining import STRATEGIES
from ml.learning.trainer import Trainer


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig(out=Path(), train_cache=Path())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", choices=sorted(RECIPES), help="start from a named recipe (flags override it)")
    parser.add_argument("--out", type=Path, required=True, help="run folder: last.pt, best.pt, log.jsonl")
    parser.add_argument("--train-cache", type=Path, required=True)
    parser.add_argument("--val-cache", type=Path, help="cached crops of the val split (skip validation without)")
    parser.add_argument("--val-pairs", type=Path)
    parser.add_argument("--init", type=Path, help="checkpoint to start from (e.g. models/dlib_resnet_v1.pt)")
    parser.add_argument("--architecture", help="network when training from scratch")
    parser.add_argument("--p", type=int, help="identities per batch")
    parser.add_argument("--k", type=int, help="faces per identity in a batch")
    parser.add_argument("--extra", type=int, help="further identities (1 face each) as negatives")
    parser.add_argument("--alpha", type=float, help="margin, in squared L2 on unit vectors")
    parser.add_argument("--mining", choices=STRATEGIES)
    parser.add_argument("--optimizer", choices=OPTIMIZERS)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--relative-lr", action="store_true", default=None,
                        help="scale each tensor's lr by its mean |value| (--lr is then a fraction per step)")
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--warmup", type=int, help="steps of linear warm-up")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps-per-epoch", type=int, help="cap on batches per epoch")
    parser.add_argument("--freeze-until", metavar="SPLIT",
                        help="first block that trains (a split point of the network, or 'default')")
    parser.add_argument("--feature-cache-at", metavar="SPLIT",
                        help="freeze the blocks before SPLIT and cache their output once per face (and flipped face)")
    parser.add_argument("--no-augment", dest="augment", action="store_false", default=None)
    parser.add_argument("--mirror-average", action="store_true", default=None,
                        help="train the mirror-averaged embedding (implied by an --init exported with --mirror-average)")
    parser.add_argument("--select", help="validation metric that picks best.pt")
    parser.add_argument("--val-every", type=int, help="also validate every N steps")
    parser.add_argument("--save-every", type=int, help="write last.pt every N steps")
    parser.add_argument("--print-every", type=int)
    parser.add_argument("--snapshots", action="store_true", default=None,
                        help="keep an fp16 copy of the weights at every validation")
    parser.add_argument("--max-minutes", type=float, help="stop (resumably) after this much training time")
    parser.add_argument("--stop-at-step", type=int,
                        help="stop (resumably) at this step, keeping the schedule of the full run (for short comparisons)")
    parser.add_argument("--restart", action="store_true", default=None, help="ignore last.pt and start over")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--threads", type=int)
    parser.epilog = "Defaults without --recipe: " + ", ".join(
        f"{name}={value}" for name, value in defaults.to_dict().items() if name not in ("out", "train_cache"))
    return parser


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """The config the flags describe: the recipe's values (if any), then the flags given."""
    given = vars(build_parser().parse_args(argv))
    recipe = given.pop("recipe")
    fields = {name: value for name, value in given.items() if value is not None}
    return TrainConfig.from_recipe(recipe, **fields) if recipe else TrainConfig(**fields)


def main(argv: list[str] | None = None) -> None:
    Trainer(parse_args(argv)).run()


if __name__ == "__main__":
    main()

"""What a training run is: one frozen config, and the named recipes it is usually made from.

A recipe holds the choices that made a model (margin, learning rate, batch shape, what
trains); a config adds where the data and the run folder are. The command line
(``python -m ml.learning.train``) and the app's retraining runs both build one of these
and hand it to ``ml.learning.trainer.Trainer``; it is stored in every checkpoint the run
writes, under config["training"].
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ml.faces.nets import DEFAULT_SPLIT
from ml.learning.mining import STRATEGIES

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    out: Path  # run folder: last.pt, best.pt, log.jsonl
    train_cache: Path  # ml.learning.facecache output
    val_cache: Path | None = None  # cached crops of the val split (no validation without)
    val_pairs: Path | None = None
    init: Path | None = None  # checkpoint to start from; None trains ``architecture`` from scratch
    architecture: str = "dlib_resnet"
    # Batches: p identities x k faces, plus ``extra`` one-face identities as negatives.
    p: int = 30
    k: int = 4
    extra: int = 8
    alpha: float = 0.2  # triplet margin, in squared L2 on unit vectors
    mining: str = "semihard"
    optimizer: str = "adam"
    lr: float = 1e-4
    relative_lr: bool = False  # scale each tensor's lr by its mean |value| (lr is then a fraction per step)
    weight_decay: float = 0.0
    warmup: int = 20  # steps of linear warm-up
    epochs: int = 3
    steps_per_epoch: int | None = None  # cap on batches per epoch
    # A split point of the network (``EmbeddingNetwork.split_points``, or DEFAULT_SPLIT for the
    # one it names for fine-tuning): freeze_until trains from there on; feature_cache_at also
    # caches the frozen part's output once per face and flipped face, so a step costs only
    # the tail (augmentation is then flips only).
    freeze_until: str | None = None
    feature_cache_at: str | None = None
    augment: bool = True
    mirror_average: bool = False  # train the mirror-averaged embedding (implied by such an init)
    select: str = "val_accuracy"  # validation metric that picks best.pt
    val_every: int = 0  # also validate every N steps
    save_every: int = 25  # write last.pt every N steps
    print_every: int = 10
    snapshots: bool = False  # keep an fp16 copy of the weights at every validation
    max_minutes: float | None = None  # stop (resumably) after this much training time
    stop_at_step: int | None = None  # stop (resumably) here, keeping the full run's schedule
    restart: bool = False  # ignore last.pt and start over
    seed: int = 0
    device: str | None = None  # cpu or cuda (default: cuda when present)
    threads: int = 2

    def __post_init__(self) -> None:
        for name in ("out", "train_cache", "val_cache", "val_pairs", "init"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if self.mining not in STRATEGIES:
            raise ValueError(f"mining must be one of {STRATEGIES}, not {self.mining!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        if self.val_cache is not None and self.val_pairs is None:
            raise ValueError("a val cache needs its pairs file (val_pairs)")
        if self.feature_cache_at and self.freeze_until not in (None, self.feature_cache_at):
            raise ValueError("feature_cache_at needs freeze_until at the same split point (or unset)")

    @property
    def split(self) -> str | None:
        """Where the network is cut (everything before stays frozen), None to train it all."""
        return self.feature_cache_at or self.freeze_until

    def to_dict(self) -> dict:
        """Plain values (paths as strings), as stored in checkpoints."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_recipe(cls, name: str, **fields) -> TrainConfig:
        """The recipe ``name`` (see RECIPES) with ``fields`` added or overriding it."""
        try:
            recipe = RECIPES[name]
        except KeyError:
            raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}") from None
        return cls(**{**recipe, **fields})


RECIPES: dict[str, dict] = {
    # models/compact_resnet_scratch.pt (its model card): the compact network from random
    # weights on celeba5 train, in a two-hour CPU budget; exported with --mirror-average.
    "compact_scratch": {
        "architecture": "compact_resnet", "p": 30, "k": 5, "extra": 10, "alpha": 0.2, "lr": 1e-3, "warmup": 50,
        "epochs": 32, "val_every": 500, "print_every": 50, "max_minutes": 120, "seed": 0,
    },
    # models/dlib_resnet_finetuned.pt (its model card, docs/model.md): the pretrained dlib network's
    # tail on celeba5 train. alpha 0.05 suits the pretrained net's small distances (0.2 lost
    # accuracy in the first epoch); an absolute lr wrecked its deep convolutions.
    "fine_tune": {
        "feature_cache_at": DEFAULT_SPLIT, "p": 30, "k": 5, "extra": 10, "alpha": 0.05, "mining": "semihard",
        "relative_lr": True, "lr": 3e-4, "warmup": 30, "epochs": 3, "val_every": 100, "print_every": 100, "seed": 0,
    },
    # The app's retraining runs (webapp/training): fine_tune's choices on a library mixed
    # with celeba5, a shorter warm-up; the run sets lr, batch shape, epochs and seed.
    "library": {
        "feature_cache_at": DEFAULT_SPLIT, "alpha": 0.05, "mining": "semihard", "relative_lr": True, "warmup": 10,
        "print_every": 1,
    },
}

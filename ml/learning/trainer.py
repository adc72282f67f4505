"""Triplet-loss training (FaceNet) on cached aligned faces, with online semi-hard mining.

``Trainer(config).run()`` runs (or resumes) the run a ``TrainConfig`` describes, for any
registered network. It writes into config.out: ``last.pt`` (weights + optimiser +
position, rewritten atomically every save_every steps and at each validation),
``best.pt`` (the weights with the best validation score so far) and ``log.jsonl`` (one
JSON object per validation). Running the same config again resumes from ``last.pt``;
the batches are a function of (seed, epoch) and the augmentation of (seed, step), so a
resumed run continues with the batches it would have seen and ends where a straight one
does.

Each step is one batch: sample (P x K) -> augment and embed (ml.learning.inputs) -> mine
-> loss -> optimiser step. Callers follow and steer a run through three hooks, as
pytorch-metric-learning's trainers take ``end_of_iteration_hook``:
``on_step(state, result)`` after every step, ``on_validate(state, record)`` after every
validation, and ``should_stop(state)``, polled after every step: True saves last.pt and
returns with state.stopped set, so the same config resumes later.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ml.evaluation.verification import PairsValidator
from ml.faces.align import DLIB_150
from ml.faces.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from ml.faces.embed import pick_device
from ml.faces.nets import EmbeddingNetwork, build_network
from ml.learning.config import TrainConfig
from ml.learning.facecache import load_cache
from ml.learning.inputs import CropInputs, FeatureInputs
from ml.learning.losses import triplet_loss
from ml.learning.mining import mine_triplets
from ml.learning.optim import build_optimizer, learning_rate
from ml.learning.sampling import PKSampler


@dataclass
class TrainState:
    """Where a run is; saved in last.pt (all but ``stopped``)."""

    step: int = 0
    total_steps: int = 0
    best: float = -math.inf  # best validation score so far
    best_step: int | None = None
    seconds: float = 0.0  # training time, summed over resumptions
    # Why run() returned before the last step: "asked" (should_stop), "stop_at_step", "max_minutes".
    stopped: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "stopped"}

    @classmethod
    def from_dict(cls, saved: dict) -> TrainState:
        return cls(**{f.name: saved[f.name] for f in dataclasses.fields(cls) if f.name in saved})


@dataclass(frozen=True)
class StepResult:
    """One batch's figures: the loss (NaN-free: 0 with no active triplet) and shares of the
    batch's anchor-positive pairs."""

    loss: float
    active: float  # share of pairs whose triplet had a positive loss
    mean_d_ap: float  # mean squared distances of the mined triplets (NaN when none)
    mean_d_an: float
    semihard: float
    fallback: float
    skipped: float


def print_flushed(line: str) -> None:
    print(line, flush=True)


def nan_mean(values) -> float:
    """Mean of the finite values; NaN (without numpy's warning) when there are none, as
    for a window whose batches had no active triplet."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


@dataclass
class Window:
    """The steps since the last validation, summarised in its log record."""

    results: list[StepResult] = field(default_factory=list)

    def recent_loss(self, steps: int) -> float:
        return nan_mean([r.loss for r in self.results[-steps:]])

    def summary(self) -> dict:
        column = lambda name: [getattr(r, name) for r in self.results]  # noqa: E731
        return {"loss": nan_mean(column("loss")), "active_share": float(np.mean(column("active"))),
                "mean_d_ap": nan_mean(column("mean_d_ap")), "mean_d_an": nan_mean(column("mean_d_an")),
                "semihard_share": float(np.mean(column("semihard"))),
                "fallback_share": float(np.mean(column("fallback"))),
                "skipped_share": float(np.mean(column("skipped")))}


class Trainer:
    def __init__(self, config: TrainConfig, *, on_step: Callable[[TrainState, StepResult], None] | None = None,
                 on_validate: Callable[[TrainState, dict], None] | None = None,
                 should_stop: Callable[[TrainState], bool] | None = None,
                 log: Callable[[str], None] = print_flushed) -> None:
        self.config, self.log = config, log
        self.on_step, self.on_validate, self.should_stop = on_step, on_validate, should_stop
        # Seeded before the network is built: a run from scratch starts from the same weights.
        torch.manual_seed(config.seed)
        torch.set_num_threads(config.threads)
        self.device = pick_device(config.device)
        self.out = Path(config.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.last_path, self.best_path, self.log_path = self.out / "last.pt", self.out / "best.pt", self.out / "log.jsonl"

        self.train_cache = load_cache(config.train_cache)
        self.validator = PairsValidator(load_cache(config.val_cache), config.val_pairs) if config.val_cache else None
        self.sampler = PKSampler(self.train_cache.labels, p=config.p, k=config.k, extra=config.extra,
                                 eligible=self.train_cache.ok, seed=config.seed)
        self.model, self.checkpoint_config = self._network()
        self.split = self.model.split_point(config.split) if config.split else None
        self.frozen = self.model.freeze_before(self.split)
        self.inputs = self._inputs()
        self.optimizer = build_optimizer(self.model, config)
        self.steps_per_epoch = min(len(self.sampler), config.steps_per_epoch or len(self.sampler))
        self.state = TrainState(total_steps=config.epochs * self.steps_per_epoch)
        self.window = Window()

    def _network(self) -> tuple[EmbeddingNetwork, dict]:
        """The network to train and the config its checkpoints carry."""
        if self.config.init:
            model, init_config, _ = load_checkpoint(self.config.init, device=self.device)
            checkpoint_config = {k: v for k, v in init_config.items() if k != "training"}
        else:
            model = build_network(self.config.architecture).to(self.device)
            checkpoint_config = {**model.default_config, "alignment_template": DLIB_150.to_dict()}
        checkpoint_config["mirror_average"] = self.config.mirror_average or bool(checkpoint_config.get("mirror_average"))
        return model, checkpoint_config

    def _inputs(self) -> CropInputs | FeatureInputs:
        mirror = self.checkpoint_config["mirror_average"]
        val_cache = self.validator.cache if self.validator else None
        if not self.config.feature_cache_at:
            return CropInputs(self.model, self.checkpoint_config, self.train_cache, val_cache,
                              augment=self.config.augment, device=self.device)
        # The feature files sit beside their caches, named after what computed them.
        stem = f"{Path(self.config.init).stem if self.config.init else 'scratch'}.{self.split}"
        features = lambda cache_path: Path(cache_path).with_suffix(f".{stem}.npy")  # noqa: E731
        return FeatureInputs(self.model, self.split, (self.train_cache, features(self.config.train_cache)),
                             (val_cache, features(self.config.val_cache)) if val_cache else None,
                             augment=self.config.augment, mirror=mirror, device=self.device, log=self.log)

    def _train_mode(self) -> None:
        """Train mode, but the frozen part stays in eval mode (its batch norms keep the
        statistics they were trained with)."""
        self.model.train()
        for module in self.frozen:
            module.eval()

    def resume(self) -> None:
        """Go on from last.pt when there is one (unless config.restart)."""
        total = self.state.total_steps
        if self.last_path.is_file() and not self.config.restart:
            payload = read_checkpoint(self.last_path)
            self.model.load_state_dict(payload["state_dict"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.state = TrainState.from_dict(payload["train_state"])
            self.log(f"resumed from {self.last_path} at step {self.state.step} of {total}")
        elif self.config.restart:
            self.log_path.unlink(missing_ok=True)
        self.state.total_steps = total

    def batches(self) -> Iterator[np.ndarray]:
        """The face indices of every batch from the current step on, sorted (memmap reads
        in file order)."""
        while self.state.step < self.state.total_steps:
            epoch, within = divmod(self.state.step, self.steps_per_epoch)
            for index, indices in enumerate(self.sampler.epoch(epoch)):
                if index >= self.steps_per_epoch:
                    break
                if index >= within:
                    yield np.sort(indices)

    def train_step(self, indices: np.ndarray) -> StepResult:
        """One batch at the current step; advances state.step."""
        step = self.state.step
        # Augmentation drawn from (seed, step): a resumed run repeats it exactly.
        rng = np.random.default_rng([self.config.seed, 1, step])
        labels = torch.from_numpy(self.train_cache.labels[indices]).to(self.device)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.config, step, self.state.total_steps) * group["lr_scale"]
        embeddings = self.inputs.train_embeddings(indices, rng)
        mined = mine_triplets(embeddings, labels, alpha=self.config.alpha, strategy=self.config.mining)
        result = triplet_loss(embeddings, mined.anchors, mined.positives, mined.negatives, alpha=self.config.alpha)
        self.optimizer.zero_grad(set_to_none=True)
        if result.active:
            result.loss.backward()
            self.optimizer.step()
        self.state.step += 1
        pairs = max(1, mined.pairs)
        return StepResult(loss=float(result.loss.detach()), active=result.active / pairs,
                          mean_d_ap=result.mean_positive, mean_d_an=result.mean_negative,
                          semihard=mined.semihard / pairs, fallback=mined.fallback / pairs, skipped=mined.skipped / pairs)

    def validate(self, stats: dict) -> dict:
        """Score the model on the val pairs (when there are some), keep best.pt, log the
        record and save last.pt."""
        state = self.state
        metrics = {}
        if self.validator:
            self.model.eval()
            metrics = self.validator(self.inputs.val_embeddings)
            self._train_mode()
        record = {"step": state.step, "epoch": state.step / self.steps_per_epoch, "seconds": round(state.seconds, 1),
                  **stats, **metrics}
        score = metrics.get(self.config.select, -state.step)
        if self.validator and score > state.best:
            state.best, state.best_step = score, state.step
            save_checkpoint(self.best_path, self.model, config=self._config(step=state.step),
                            metrics={k: v for k, v in record.items() if k.startswith("val_")})
        record["best_step"] = state.best_step
        with self.log_path.open("a") as stream:
            stream.write(json.dumps(record) + "\n")
        self.log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
        if self.config.snapshots:
            save_checkpoint(self.out / f"step_{state.step:06d}.pt", self.model, config=self.checkpoint_config,
                            dtype=torch.float16)
        self.save_last()
        if self.on_validate is not None:
            self.on_validate(state, record)
        return record

    def save_last(self) -> None:
        save_checkpoint(self.last_path, self.model, config=self._config(), metrics={},
                        extra={"optimizer": self.optimizer.state_dict(), "train_state": self.state.to_dict()})

    def _config(self, **training) -> dict:
        return {**self.checkpoint_config, "training": {**self.config.to_dict(), **training}}

    def run(self) -> TrainState:
        """Train to the last step, or until a stop; returns the state (saved in last.pt)."""
        config = self.config
        self.resume()
        state = self.state
        if state.step == 0 and self.validator and not self.log_path.is_file():
            self.validate({"note": "initial"})
        self._train_mode()
        started = time.perf_counter() - state.seconds
        for indices in self.batches():
            result = self.train_step(indices)
            state.seconds = time.perf_counter() - started
            self.window.results.append(result)
            if self.on_step is not None:
                self.on_step(state, result)
            if state.step % config.print_every == 0:
                self.log(f"step {state.step}/{state.total_steps} loss {self.window.recent_loss(config.print_every):.4f} "
                         f"active {np.mean([r.active for r in self.window.results[-config.print_every:]]):.3f} "
                         f"{state.seconds / max(1, state.step):.2f} s/step (avg)")
            if (state.step % self.steps_per_epoch == 0 or (config.val_every and state.step % config.val_every == 0)
                    or state.step == state.total_steps):
                self.validate({"lr": learning_rate(config, state.step - 1, state.total_steps), **self.window.summary()})
                self.window = Window()
            elif state.step % config.save_every == 0:
                self.save_last()
            if stop := self._stop_reason():
                state.stopped = stop
                self.save_last()
                return state
        return state

    def _stop_reason(self) -> str | None:
        state, config = self.state, self.config
        if self.should_stop is not None and self.should_stop(state):
            return "asked"
        if config.stop_at_step and state.step >= config.stop_at_step:
            self.log(f"stopping at step {state.step} as asked (stop_at_step)")
            return "stop_at_step"
        if config.max_minutes and state.seconds > config.max_minutes * 60:
            self.log(f"time budget of {config.max_minutes} min reached at step {state.step}")
            return "max_minutes"
        return None

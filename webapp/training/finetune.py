"""Fine-tuning a copy of the run's base model: the "library" recipe of ml.learning.config
(its network's own fine-tuning split frozen and cached, alpha 0.05, relative lr), with
the run's learning rate, epochs and a batch shape cut down to the training set."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from django.conf import settings

from ml.faces.checkpoint import read_checkpoint
from ml.learning.config import TrainConfig
from ml.learning.export import export
from ml.learning.trainer import Trainer
from webapp.faces.runtime import checkpoint_path, torch_threads
from webapp.training.dataset import RunDataset
from webapp.training.models import TrainingRun
from webapp.training.progress import RunCancelled, RunProgress, run_data_update

MAX_K = 4


def batch_shape(*, with_k: int, identities: int, k: int) -> dict:
    """The run's P x K + extra batch: the settings' P and extra, cut down so that a small
    training set still gives at least two batches an epoch (P at most half the identities
    with k faces) and the extra identities exist."""
    p = max(1, min(settings.VISAGE_RETRAIN_BATCH_PEOPLE, with_k // 2))
    extra = max(0, min(settings.VISAGE_RETRAIN_BATCH_EXTRA, identities - p))
    return {"p": p, "k": k, "extra": extra}


def run_batch(library_labels: np.ndarray, base_labels: np.ndarray) -> dict:
    """batch_shape for a run's training set: the library's training people (labels per
    face) and celeba5's; K is the fewest faces a library person has (at most MAX_K), so
    every library person can be a P-identity."""
    _, per_person = np.unique(library_labels, return_counts=True)
    k = int(min(MAX_K, per_person.min()))
    _, base_per_person = np.unique(base_labels, return_counts=True)
    return batch_shape(with_k=len(per_person) + int((base_per_person >= k).sum()),
                       identities=len(per_person) + len(base_per_person), k=k)


def finetune_config(*, run: TrainingRun, folder: Path, dataset: RunDataset) -> TrainConfig:
    library, base = dataset.library, dataset.base
    batch = run_batch(library.labels[~library.held_out], base.labels[base.ok])
    epochs = settings.VISAGE_RETRAIN_EPOCHS
    steps = max(1, -(-settings.VISAGE_RETRAIN_MAX_STEPS // epochs)) if settings.VISAGE_RETRAIN_MAX_STEPS else None
    return TrainConfig.from_recipe(
        "library", out=folder / "train", train_cache=dataset.train_cache, init=checkpoint_path(run.base_model),
        lr=settings.VISAGE_RETRAIN_LR, epochs=epochs, steps_per_epoch=steps, seed=run.pk, threads=torch_threads(),
        **batch,
    )


def run_finetune(*, run: TrainingRun, folder: Path, dataset: RunDataset, progress: RunProgress) -> Path:
    """Train (or resume) to the end and export the model file; RunCancelled when the admin
    asked to stop."""
    config = finetune_config(run=run, folder=folder, dataset=dataset)
    data = {"epochs": config.epochs, "batch": {"p": config.p, "k": config.k, "extra": config.extra}}
    last = config.out / "last.pt"
    if last.is_file():  # a worker died mid-run: go on from its last checkpoint
        data["resumed_from_step"] = int(read_checkpoint(last)["train_state"]["step"])
    run_data_update(run.pk, **data)
    progress.phase("training")
    trainer = Trainer(config, on_step=progress.step, on_validate=progress.validated, should_stop=progress.cancelled)
    if trainer.run().stopped:
        raise RunCancelled
    exported = folder / "model.pt"
    export(last, exported)
    return exported

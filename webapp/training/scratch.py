"""A run's scratch files: everything it writes (the celeba5 and library crops, the cached
features, the trainer's checkpoints; several hundred MB with the default settings) goes to
VISAGE_TRAINING_DIR/run_<id>/, so a redelivered task (worker restart) picks them up and
resumes. They are kept while the run can resume (queued or running) and removed when it
ends; the model it made is in the media storage by then."""
from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

from webapp.training.models import TrainingRun


def run_dir(run_id: int) -> Path:
    return Path(settings.VISAGE_TRAINING_DIR) / f"run_{run_id}"


def run_scratch_remove(run_id: int) -> None:
    shutil.rmtree(run_dir(run_id), ignore_errors=True)


def scratch_sweep() -> list[int]:
    """Remove the scratch folders of runs that can no longer resume (ended, deleted, or
    ended by another path than their worker, such as a stale heartbeat); returns their ids."""
    root = Path(settings.VISAGE_TRAINING_DIR)
    found = {int(path.name.removeprefix("run_")): path for path in root.glob("run_*")
             if path.is_dir() and path.name.removeprefix("run_").isdigit()}
    open_ids = set(TrainingRun.objects.filter(pk__in=found, status__in=TrainingRun.OPEN).values_list("pk", flat=True))
    removed = sorted(set(found) - open_ids)
    for run_id in removed:
        shutil.rmtree(found[run_id], ignore_errors=True)
    return removed

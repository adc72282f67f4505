"""Retraining runs: start, cancel, discard, and carry one out.

A run fine-tunes a copy of the active network (of a fused version: its fusion head, the
backbones frozen; head_retrain.py) on the confirmed people of the chosen libraries, mixed
with celeba5 train so it does not forget, holds out about 20 % of the
people, and compares old and new on those people and on celeba5 val pairs. It ends as a
new, inactive EmbeddingModel with a recommendation; promoting it is a switch (see
switching.py).

``training_execute`` is the run's life in a few calls: collect the library
(dataset.py) -> fine-tune (finetune.py, ml.learning.trainer; or head_retrain.py) -> compare
(ml.evaluation.model_compare) -> register (webapp.faces.registry, which owns version
numbers). Its scratch files are kept only while it can resume (scratch.py)."""
from __future__ import annotations

import logging
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ml.evaluation.model_compare import TooLittleData, checkpoints_compare, people_split, recommend
from ml.faces.checkpoint import FUSED_ARCHITECTURE, file_sha256
from webapp.core.broker import send_on_commit
from webapp.core.jobs import JobHeartbeat, lock_table
from webapp.faces.models import EmbeddingModel
from webapp.faces.registry import checkpoint_file_fields, model_version_create
from webapp.faces.runtime import STORED_PREFIX, checkpoint_path
from webapp.faces.selectors import embedding_model_active
from webapp.training.dataset import base_set_problem, run_dataset_collect
from webapp.training.finetune import run_finetune
from webapp.training.head_retrain import run_head_retrain
from webapp.training.library import confirmed_faces
from webapp.training.models import ModelSwitch, TrainingRun
from webapp.training.progress import RunCancelled, RunProgress
from webapp.training.scratch import run_dir, run_scratch_remove, scratch_sweep

logger = logging.getLogger(__name__)


class RunRefused(ValueError):
    pass


def training_start(*, user, owner_ids: list[int] | None) -> TrainingRun:
    """Queue a run on the long queue; refused with a clear message when one is open or
    the chosen libraries have too few people."""
    if owner_ids is not None and not owner_ids:
        raise RunRefused("Choose at least one library to learn from.")
    if problem := base_set_problem():
        raise RunRefused(problem)
    scratch_sweep()  # what runs that ended some other way (a stale heartbeat) left behind
    with transaction.atomic():
        lock_table(TrainingRun)
        running = TrainingRun.objects.filter(status__in=TrainingRun.OPEN).first()
        if running is not None and running.fail_if_stale():
            transaction.on_commit(lambda: run_scratch_remove(running.pk))
        elif running is not None:
            raise RunRefused(f"Run #{running.pk} is {running.get_status_display().lower()}: one run at a time.")
        people = confirmed_faces(owner_ids=owner_ids).values("person_id").distinct().count()
        try:
            people_split(range(people))
        except TooLittleData as exc:
            raise RunRefused(f"Too little data: {exc}. Confirm more faces on the People pages first.") from exc
        run = TrainingRun.objects.create(
            created_by=user, owner_ids=owner_ids, base_model=embedding_model_active(),
            message="waiting for a worker on the long queue",
        )
        send_on_commit("training.training_execute", args=[run.pk])
    return run


def training_cancel(*, run_id: int) -> TrainingRun:
    """A queued run, or one whose worker died, ends at once; a running one stops at its
    next step and cleans up."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or not run.is_open:
            raise RunRefused("Only a queued or running run can be cancelled.")
        if run.status == TrainingRun.Status.QUEUED or run.is_stale:
            run.status, run.finished_at, run.message = TrainingRun.Status.CANCELLED, timezone.now(), "cancelled"
        run.cancel_requested = True
        run.save()
    if run.status == TrainingRun.Status.CANCELLED:
        run_scratch_remove(run.pk)
    return run


def training_discard(*, run_id: int) -> TrainingRun:
    """Drop a finished run's candidate version (row and stored checkpoint)."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != TrainingRun.Status.FINISHED:
            raise RunRefused("Only a finished run that was not promoted can be discarded.")
        model = run.result_model
        if ModelSwitch.objects.filter(target=model, status__in=ModelSwitch.OPEN).exists():
            raise RunRefused(f"v{model.version} is being promoted; wait until the switch is done.")
        run.status, run.result_model = TrainingRun.Status.DISCARDED, None
        run.save(update_fields=["status", "result_model"])
        stored = model.checkpoint.removeprefix(STORED_PREFIX)
        ModelSwitch.objects.filter(target=model).delete()  # failed attempts to promote it
        model.delete()
        transaction.on_commit(lambda: default_storage.delete(stored))
    return run


def training_execute(*, run: TrainingRun) -> TrainingRun:
    """Carry out a claimed run (see webapp.core.jobs.job_claim) to finished, cancelled or failed."""
    with JobHeartbeat(run):  # beats between progress reports too: evaluating can take minutes
        _carry_out(run, RunProgress(run), run_dir(run.pk))
    run.refresh_from_db()
    return run


def _carry_out(run: TrainingRun, progress: RunProgress, folder: Path) -> None:
    stored_name = None
    try:
        progress.check_cancel()
        if run.base_model.architecture == FUSED_ARCHITECTURE:
            new_checkpoint, metrics = run_head_retrain(run=run, folder=folder, progress=progress)
        else:
            new_checkpoint, metrics = _network_retrain(run, folder, progress)
        progress.check_cancel()
        promote, reason = recommend(old=metrics["old"], new=metrics["new"])
        progress.phase("saving the new version")
        with new_checkpoint.open("rb") as handle:
            stored_name = default_storage.save(f"models/run_{run.pk}_{file_sha256(new_checkpoint)[:12]}.pt", File(handle))
        with transaction.atomic():
            model = _register(run, new_checkpoint, stored_name, metrics["new"])
            TrainingRun.objects.filter(pk=run.pk).update(
                status=TrainingRun.Status.FINISHED, result_model=model, metrics=metrics, recommend_promote=promote,
                recommendation=reason, message="finished", eta_seconds=0, finished_at=timezone.now(),
            )
    except RunCancelled:
        _end(run, TrainingRun.Status.CANCELLED, "cancelled", stored_name)
    except TooLittleData as exc:
        _end(run, TrainingRun.Status.FAILED, "failed", stored_name, error=f"Too little data: {exc}.")
    except Exception as exc:  # the run row carries the error to the page; nothing is retried
        logger.exception("training run %s failed", run.pk)
        _end(run, TrainingRun.Status.FAILED, "failed", stored_name, error=f"{type(exc).__name__}: {exc}")
    run_scratch_remove(run.pk)  # ended: it cannot resume, and the model is stored


def _network_retrain(run: TrainingRun, folder: Path, progress: RunProgress) -> tuple[Path, dict]:
    """Fine-tune a copy of a single network: (its model file, the old and new metrics)."""
    dataset = run_dataset_collect(run=run, folder=folder, progress=progress)
    new_checkpoint = run_finetune(run=run, folder=folder, dataset=dataset, progress=progress)
    progress.phase("evaluating old and new model")
    metrics = checkpoints_compare(old=checkpoint_path(run.base_model), new=new_checkpoint,
                                  old_threshold=run.base_model.same_person_threshold,
                                  heldout=dataset.library.heldout_faces(), val=dataset.val, seed=run.pk)
    return new_checkpoint, metrics


def _end(run: TrainingRun, status: str, phase: str, stored_name: str | None, error: str = "") -> None:
    """Cancelled or failed: no model row and no stored checkpoint are left."""
    if stored_name:
        default_storage.delete(stored_name)
    TrainingRun.objects.filter(pk=run.pk).update(status=status, message=phase, error=error[:4000], finished_at=timezone.now())


def _register(run: TrainingRun, checkpoint, stored_name: str, new_metrics: dict) -> EmbeddingModel:
    fields = checkpoint_file_fields(checkpoint, checkpoint=STORED_PREFIX + stored_name)
    fields["same_person_threshold"] = new_metrics["threshold"]
    fields["calibration"] = new_metrics["calibration"]
    fields["metrics"] = {**fields["metrics"], "same_person_threshold": new_metrics["threshold"],
                         "heldout": new_metrics["heldout"], "celeba_val": new_metrics["celeba_val"], "training_run": run.pk}
    return model_version_create(model_class=EmbeddingModel, name=f"Retrained from v{run.base_model.version} (run #{run.pk})",
                                is_active=False, **fields)

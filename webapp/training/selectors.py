"""Reads for the "Face model" page."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from webapp.core.broker import queue_workers, task_queue
from webapp.faces.calibration import CERTAIN_FAR, SAME_PERSON_FAR, model_calibration
from webapp.faces.models import EmbeddingModel, Face, FaceEmbedding
from webapp.core.jobs import stale_after
from webapp.training.models import ModelSwitch, TrainingRun


def training_runs(limit: int = 20) -> QuerySet[TrainingRun]:
    return TrainingRun.objects.select_related("base_model", "result_model", "created_by")[:limit]


def training_run_open() -> TrainingRun | None:
    return TrainingRun.objects.filter(status__in=TrainingRun.OPEN).first()


def model_switch_latest() -> ModelSwitch | None:
    return ModelSwitch.objects.select_related("target", "previous").first()


def model_versions() -> list[dict]:
    """Every version with what the page may do with it and how many faces use it."""
    live = dict(Face.objects.values("embedding_model_id").annotate(n=Count("id")).values_list("embedding_model_id", "n"))
    kept = dict(FaceEmbedding.objects.values("embedding_model_id").annotate(n=Count("id")).values_list("embedding_model_id", "n"))
    return [
        {"model": m, "faces": live.get(m.pk, 0), "kept": kept.get(m.pk, 0),
         "can_promote": not m.is_active and m.activated_at is None,
         "can_roll_back": not m.is_active and m.activated_at is not None}
        for m in EmbeddingModel.objects.all()
    ]


def kept_embeddings() -> int:
    return FaceEmbedding.objects.count()


@dataclass(frozen=True)
class JobWorkers:
    """Who would carry out a run or a switch. ``state``: "unreachable" (the broker can't be
    asked), "absent" (nobody consumes the queue: a run waits), "busy" (a worker holds a
    job: ``running`` says which) or "ready"."""

    queue: str
    state: str
    workers: list[str]
    running: str = ""


def job_workers(*, timeout: float = 1.0) -> JobWorkers:
    """The workers of the queue the long jobs go to, telling a busy worker from an
    absent one: a worker that answers says what it runs, and a worker inside a job that
    cannot answer (a solo pool blocks while it works) still beats that job's heartbeat."""
    queue = task_queue("training.training_execute")
    answers = queue_workers(queue, timeout=timeout)
    if not answers.reachable:
        return JobWorkers(queue, "unreachable", [])
    if answers.idle:  # a new job starts at once, whatever the others are doing
        return JobWorkers(queue, "ready", answers.idle)
    if answers.busy:
        running = "; ".join(f"{name}: {', '.join(tasks)}" for name, tasks in sorted(answers.busy.items()))
        return JobWorkers(queue, "busy", sorted(answers.busy), running)
    fresh = timezone.now() - stale_after()
    held = [f"retraining run #{run.pk}"
            for run in TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, heartbeat_at__gte=fresh)]
    held += [f"switch to v{switch.target.version}"
             for switch in ModelSwitch.objects.filter(status=ModelSwitch.Status.RUNNING, heartbeat_at__gte=fresh)
             .select_related("target")]
    if held:
        return JobWorkers(queue, "busy", [], ", ".join(held))
    return JobWorkers(queue, "absent", [])


def model_figures(model: EmbeddingModel) -> dict:
    """celeba5 val accuracy / VAL@FAR=1e-3 / AUC of a version, and its held-out library
    figures when it came from a run. Shipped checkpoints store the val figures flat."""
    metrics = model.metrics or {}
    celeba_val = metrics.get("celeba_val") or {
        "accuracy": metrics.get("accuracy"), "val": metrics.get("val_at_far_1e-3"), "auc": metrics.get("roc_auc"),
    }
    calibration = model_calibration(model)
    return {"celeba_val": celeba_val, "heldout": metrics.get("heldout"), "calibration": {
        "same_person": calibration.threshold_at_far(SAME_PERSON_FAR), "certain": calibration.threshold_at_far(CERTAIN_FAR),
        "source": calibration.source,
    }}

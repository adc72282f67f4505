"""Reads for the "Face model" page."""
from __future__ import annotations

import logging

from django.db.models import Count, QuerySet

from webapp.faces.models import EmbeddingModel, Face, FaceEmbedding
from webapp.training.models import ModelSwitch, TrainingRun

logger = logging.getLogger(__name__)


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


def gpu_workers(app) -> list[str] | None:
    """Names of the workers consuming the `gpu` queue; None when the broker can't be asked."""
    if app.conf.task_always_eager:
        return ["this web process (eager mode)"]
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=1)
            replies = app.control.inspect(timeout=1.0, connection=connection).active_queues() or {}
    except Exception:  # broker down or unreachable: the page says so instead of failing
        logger.warning("could not ask the broker for workers", exc_info=True)
        return None
    return sorted(name for name, queues in replies.items() if any(q.get("name") == "gpu" for q in queues))


def model_figures(model: EmbeddingModel) -> dict:
    """celeba5 val accuracy / VAL@FAR=1e-3 / AUC of a version, and its held-out library
    figures when it came from a run. Shipped checkpoints store the val figures flat."""
    metrics = model.metrics or {}
    celeba_val = metrics.get("celeba_val") or {
        "accuracy": metrics.get("accuracy"), "val": metrics.get("val_at_far_1e-3"), "auc": metrics.get("roc_auc"),
    }
    return {"celeba_val": celeba_val, "heldout": metrics.get("heldout")}

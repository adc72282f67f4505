"""Registering checkpoints as EmbeddingModel rows: their fields, read from the file, and
their version numbers, allocated here only.

Shared by the retraining runs and the migrations that register the shipped models, so all
read checkpoints the same way and never hand out one number twice. The functions take the
model class, so a data migration can pass its historical model."""
from __future__ import annotations

import json
from pathlib import Path

from django.db import IntegrityError, transaction

from ml.evaluation.calibration import calibration_path
from ml.faces.checkpoint import file_sha256, read_checkpoint

# dlib's documented same-person distance 0.6 (Euclidean on unit vectors) is cosine 0.18;
# used only when a checkpoint carries no calibrated threshold.
FALLBACK_THRESHOLD = 0.18


def _known_fields(model_class, fields: dict) -> dict:
    """``fields`` the (possibly historical) model class has: an early migration registers
    a checkpoint before later fields, such as the calibration, exist."""
    names = {field.name for field in model_class._meta.get_fields()}
    return {name: value for name, value in fields.items() if name in names}


def checkpoint_fields(models_dir: Path, relative_path: str) -> dict:
    return checkpoint_file_fields(Path(models_dir) / relative_path, checkpoint=relative_path)


def checkpoint_file_fields(path: Path, *, checkpoint: str) -> dict:
    """Row fields of the checkpoint file at ``path``, to be found later as ``checkpoint``."""
    payload = read_checkpoint(path)
    config, metrics = payload["config"], payload.get("metrics", {})
    sidecar = calibration_path(path)
    return {
        "checkpoint": checkpoint,
        "checkpoint_sha256": file_sha256(path),
        "architecture": config["architecture"],
        "embedding_dim": int(config["embedding_dim"]),
        "input_size": int(config["input_size"]),
        "alignment_template": config["alignment_template"],
        "metrics": metrics,
        "same_person_threshold": float(metrics.get("same_person_threshold", FALLBACK_THRESHOLD)),
        "calibration": json.loads(sidecar.read_text()) if sidecar.exists() else {},
        "grouping": config.get("grouping", {}),
    }


def model_version_create(*, model_class, name: str, is_active: bool, **fields):
    """A new row under the next free version number. Two registrations at once both read
    the same highest number; the unique version makes the second one fail and try the
    next number."""
    for _ in range(3):
        version = max(model_class.objects.values_list("version", flat=True), default=0) + 1
        try:
            with transaction.atomic():
                return model_class.objects.create(version=version, name=name, is_active=is_active,
                                                  **_known_fields(model_class, fields))
        except IntegrityError:
            continue
    raise RuntimeError("could not allocate a model version number")


SHIPPED_CHECKPOINT = "dlib_resnet_v1.pt"
SHIPPED_NAME = "dlib ResNet (pretrained, converted from @vladmandic/face-api)"


def register_shipped_model(embedding_model_class, models_dir: Path) -> None:
    """Register the shipped checkpoint as version 1 (active when nothing else is).

    Takes the model class so the data migration can pass its historical model."""
    if embedding_model_class.objects.filter(version=1).exists():
        return
    embedding_model_class.objects.create(
        version=1,
        name=SHIPPED_NAME,
        is_active=not embedding_model_class.objects.filter(is_active=True).exists(),
        **_known_fields(embedding_model_class, checkpoint_fields(models_dir, SHIPPED_CHECKPOINT)),
    )


MIRROR_CHECKPOINT = "dlib_resnet_v1_mirror.pt"
MIRROR_NAME = "dlib ResNet, each face averaged with its mirror image"
FUSED_CHECKPOINT = "fused_dlib_fr_feature.pt"
FUSED_NAME = "dlib ResNet + fr_feature, fused to 128-D (each face averaged with its mirror image)"


def register_checkpoint(embedding_model_class, models_dir: Path, checkpoint: str, name: str, *, make_active: bool) -> None:
    """Register a shipped checkpoint (found by its file, so its version is whatever number
    is free) and, with ``make_active`` (a library with no faces yet), make it the active
    one. A library with faces keeps its version until an admin promotes another from the
    Face model page, which re-embeds every face first."""
    model = embedding_model_class.objects.filter(checkpoint=checkpoint).first()
    if model is None:
        model = model_version_create(model_class=embedding_model_class, name=name, is_active=False,
                                     **checkpoint_fields(models_dir, checkpoint))
    if make_active and not model.is_active:
        embedding_model_class.objects.filter(is_active=True).update(is_active=False)
        model.is_active = True
        model.save(update_fields=["is_active"])


def register_mirror_model(embedding_model_class, models_dir: Path, *, make_active: bool) -> None:
    register_checkpoint(embedding_model_class, models_dir, MIRROR_CHECKPOINT, MIRROR_NAME, make_active=make_active)


def register_fused_model(embedding_model_class, models_dir: Path) -> None:
    """The fused model, never made active by itself: it groups better but embeds a face
    several times slower on a CPU (docs/model.md), so an admin chooses it."""
    register_checkpoint(embedding_model_class, models_dir, FUSED_CHECKPOINT, FUSED_NAME, make_active=False)


def settings_refresh(embedding_model_class, models_dir: Path, checkpoint: str) -> None:
    """A shipped checkpoint whose settings kept with the weights were re-chosen (its config's
    "grouping", hence its sha256) brings its registered row up to date: the weights are the
    same, so the faces embedded with it stay as they are."""
    fields = checkpoint_fields(models_dir, checkpoint)
    embedding_model_class.objects.filter(checkpoint=checkpoint).update(
        checkpoint_sha256=fields["checkpoint_sha256"], grouping=fields["grouping"])


def calibrations_load(embedding_model_class, models_dir: Path) -> None:
    """Give every registered version whose checkpoint has a calibration file beside it
    (models/<name>.calibration.json) that calibration."""
    for model in embedding_model_class.objects.filter(calibration={}):
        sidecar = calibration_path(Path(models_dir) / model.checkpoint)
        if sidecar.exists():
            model.calibration = json.loads(sidecar.read_text())
            model.save(update_fields=["calibration"])

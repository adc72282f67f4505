"""Turning a checkpoint file into the fields of an EmbeddingModel row.

Shared by the registration service and the migration that registers the shipped model,
so both read checkpoints the same way."""
from __future__ import annotations

from pathlib import Path

from ml.checkpoint import file_sha256, read_checkpoint

# dlib's documented same-person distance 0.6 (Euclidean on unit vectors) is cosine 0.18;
# used only when a checkpoint carries no calibrated threshold.
FALLBACK_THRESHOLD = 0.18


def checkpoint_fields(models_dir: Path, relative_path: str) -> dict:
    path = Path(models_dir) / relative_path
    payload = read_checkpoint(path)
    config, metrics = payload["config"], payload.get("metrics", {})
    return {
        "checkpoint": relative_path,
        "checkpoint_sha256": file_sha256(path),
        "architecture": config["architecture"],
        "embedding_dim": int(config["embedding_dim"]),
        "input_size": int(config["input_size"]),
        "alignment_template": config["alignment_template"],
        "metrics": metrics,
        "same_person_threshold": float(metrics.get("same_person_threshold", FALLBACK_THRESHOLD)),
    }

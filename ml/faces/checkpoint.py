"""Checkpoints: weights plus everything needed to use them (architecture, embedding size,
input size, normalisation, alignment template) and the metrics they earned."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from ml.faces.nets import build_network

FORMAT_VERSION = 1


def _atomic_torch_save(payload: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(payload, stream)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates 0600; a checkpoint is read by workers under other accounts,
        # so give it the permissions a normal file would get under the current umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    config: dict,
    metrics: dict | None = None,
    dtype: torch.dtype = torch.float32,
    extra: dict | None = None,
) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    missing = {"architecture", "embedding_dim", "input_size", "alignment_template"} - set(config)
    if missing:
        raise ValueError(f"checkpoint config lacks {sorted(missing)}")
    state = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    payload = {"format": FORMAT_VERSION, "config": config, "metrics": metrics or {}, "state_dict": state, **(extra or {})}
    _atomic_torch_save(payload, Path(path))


def _merge_into(path: str | os.PathLike, field: str, values: dict) -> None:
    payload = read_checkpoint(path)
    payload[field] = {**payload.get(field, {}), **values}
    _atomic_torch_save(payload, Path(path))


def update_checkpoint_metrics(path: str | os.PathLike, metrics: dict) -> None:
    """Merge ``metrics`` into a checkpoint's metrics, rewriting it atomically."""
    _merge_into(path, "metrics", metrics)


def update_checkpoint_config(path: str | os.PathLike, **keys) -> None:
    """Merge ``keys`` into a checkpoint's config (settings decided after export, such as a
    fused model's grouping), rewriting it atomically. Its sha256 changes with it."""
    _merge_into(path, "config", keys)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The raw payload (config, metrics, state_dict, ...) on the CPU."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported checkpoint format {payload.get('format')!r}")
    return payload


# A fused model (ml/fusion/model.py) is frozen networks and a head in one file, run by
# FusedEmbedder; it has no single torch network to fine-tune or export.
FUSED_ARCHITECTURE = "fused"


def network_from_state(config: dict, state_dict: dict, device: str | torch.device | None = None) -> nn.Module:
    """The network ``config`` names with ``state_dict`` loaded: eval mode, float32, on device."""
    if config["architecture"] == FUSED_ARCHITECTURE:
        raise ValueError("a fused model has no single network to train/export; "
                         "load it with ml.faces.embed.load_embedder to embed faces")
    model = build_network(config["architecture"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()})
    return model.to(device or "cpu").eval()


def load_checkpoint(path: str | os.PathLike, device: str | torch.device | None = None) -> tuple[nn.Module, dict, dict]:
    """(model in eval mode, float32, on device; config; metrics)."""
    payload = read_checkpoint(path)
    return network_from_state(payload["config"], payload["state_dict"], device), payload["config"], payload["metrics"]


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()

"""One face pipeline per worker process and model version, built on first use.

Loading the detector and the network takes about a second; a worker processes many
batches, so it keeps them. A new active version simply builds another entry."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import torch
from django.conf import settings
from django.core.files.storage import default_storage

from ml.faces.checkpoint import file_sha256
from ml.faces.detect import FaceDetector
from ml.faces.embed import load_embedder
from ml.faces.pipeline import FacePipeline
from webapp.faces.models import EmbeddingModel

_pipelines: dict[tuple[int, str], FacePipeline] = {}
_lock = threading.Lock()


# Checkpoints made by retraining live in the media storage (local disk or S3), which every
# worker host reads; the shipped ones live in VISAGE_MODELS_DIR, inside the image.
STORED_PREFIX = "storage:"


def checkpoint_path(model: EmbeddingModel) -> Path:
    """A local file with the model's weights; a stored checkpoint is copied into
    DATA_DIR/model-cache once (checked against its sha256)."""
    if not model.checkpoint.startswith(STORED_PREFIX):
        return Path(settings.MODELS_DIR) / model.checkpoint
    name = model.checkpoint[len(STORED_PREFIX):]
    local = Path(settings.DATA_DIR) / "model-cache" / f"{model.checkpoint_sha256}.pt"
    if not local.is_file():
        local.parent.mkdir(parents=True, exist_ok=True)
        temp = local.with_name(f".{local.name}.{os.getpid()}.tmp")
        try:
            with default_storage.open(name, "rb") as source, open(temp, "wb") as target:
                shutil.copyfileobj(source, target)
            if file_sha256(temp) != model.checkpoint_sha256:
                raise ValueError(f"stored checkpoint {name} does not match model v{model.version}'s sha256")
            os.replace(temp, local)
        finally:
            temp.unlink(missing_ok=True)  # a failed copy leaves no partial file behind
    return local


def torch_threads() -> int:
    return settings.VISAGE_TORCH_THREADS or os.cpu_count() or 1


# The extra detector passes on by default (bench/detect.py, docs/benchmarks.md "Face
# detection"): turned copies find faces in photos that are sideways without an EXIF
# orientation (scans, exports, messaging apps), and an enlarged copy finds small faces in
# small photos. One network run per turn; the enlarged pass only runs on photos smaller
# than the detector's side, so it costs nothing on camera photos.
DETECT_TURNS = (90, 180, 270)


def detector_options() -> dict:
    """How every worker builds its face detector, from the settings."""
    return {
        "score_threshold": settings.VISAGE_DETECT_MIN_SCORE,
        "min_face_px": settings.VISAGE_DETECT_MIN_FACE_PX,
        "detect_side": settings.VISAGE_DETECT_SIDE,
        "turns": DETECT_TURNS if settings.VISAGE_DETECT_TURNS else (),
        "upscale": settings.VISAGE_DETECT_UPSCALE,
    }


def face_pipeline_for(model: EmbeddingModel) -> FacePipeline:
    options = detector_options()
    key = (model.version, model.checkpoint_sha256, tuple(sorted(options.items())))
    with _lock:
        pipeline = _pipelines.get(key)
        if pipeline is None:
            threads = torch_threads()
            torch.set_num_threads(threads)
            detector = FaceDetector(**options, num_threads=threads)
            embedder = load_embedder(checkpoint_path(model), num_threads=threads)
            pipeline = FacePipeline(detector=detector, embedder=embedder)
            _pipelines[key] = pipeline
        return pipeline

"""One face pipeline per worker process and model version, built on first use.

Loading the detector and the network takes about a second; a worker processes many
batches, so it keeps them. A new active version simply builds another entry."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import torch
from django.conf import settings

from ml.detect import FaceDetector
from ml.embed import Embedder
from ml.pipeline import FacePipeline
from webapp.faces.models import EmbeddingModel

_pipelines: dict[tuple[int, str], FacePipeline] = {}
_lock = threading.Lock()


def checkpoint_path(model: EmbeddingModel) -> Path:
    return Path(settings.MODELS_DIR) / model.checkpoint


def torch_threads() -> int:
    return settings.VISAGE_TORCH_THREADS or os.cpu_count() or 1


def face_pipeline_for(model: EmbeddingModel) -> FacePipeline:
    key = (model.version, model.checkpoint_sha256)
    with _lock:
        pipeline = _pipelines.get(key)
        if pipeline is None:
            threads = torch_threads()
            torch.set_num_threads(threads)
            detector = FaceDetector(
                score_threshold=settings.VISAGE_DETECT_MIN_SCORE,
                min_face_px=settings.VISAGE_DETECT_MIN_FACE_PX,
                detect_side=settings.VISAGE_DETECT_SIDE,
                num_threads=threads,
            )
            embedder = Embedder.from_checkpoint(checkpoint_path(model), num_threads=threads)
            pipeline = FacePipeline(detector=detector, embedder=embedder)
            _pipelines[key] = pipeline
        return pipeline

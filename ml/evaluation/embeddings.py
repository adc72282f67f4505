"""Embeddings of every image of a labelled split (<person>/<person>_NNNN.<ext>), through
the same decoder, detector and aligner as an upload, cached per checkpoint file content
under var/embeddings/ so calibration and the open-set benchmark embed a split once."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ml.faces.checkpoint import file_sha256

CACHE_DIR = Path(os.environ.get("VISAGE_EMBEDDINGS_CACHE", Path(__file__).resolve().parents[2] / "var" / "embeddings"))
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def split_embeddings(checkpoint: Path, root: Path, *, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) unit embeddings and (N,) person ids of the images of ``root`` in which a face
    was found (the face nearest the centre)."""
    from ml.evaluation.evaluate import embed_images
    from ml.faces.align import NETWORK_BORDER
    from ml.faces.detect import FaceDetector
    from ml.faces.embed import Embedder
    from ml.faces.pipeline import FacePipeline

    root = Path(root)
    cache = CACHE_DIR / f"{file_sha256(checkpoint)[:16]}_{root.parent.name}_{root.name}.npz"
    if cache.exists():
        stored = np.load(cache)
        return stored["embeddings"], stored["labels"]
    paths = sorted(p for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
    pipeline = FacePipeline(detector=FaceDetector(num_threads=threads), embedder=Embedder.from_checkpoint(checkpoint, num_threads=threads))
    found = {path: vector for path, vector in embed_images(pipeline, paths)[0][NETWORK_BORDER].items() if vector is not None}
    embeddings = np.stack([found[p] for p in paths if p in found]).astype(np.float32)
    labels = np.array([p.parent.name for p in paths if p in found])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".tmp.npz"), embeddings=embeddings, labels=labels)
    os.replace(cache.with_suffix(".tmp.npz"), cache)
    return embeddings, labels

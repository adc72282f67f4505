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
    from ml.faces.embed import load_embedder
    from ml.faces.pipeline import FacePipeline

    root = Path(root)
    cache = CACHE_DIR / f"{file_sha256(checkpoint)[:16]}_{root.parent.name}_{root.name}.npz"
    if cache.exists():
        stored = np.load(cache)
        return stored["embeddings"], stored["labels"]
    paths = sorted(p for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
    pipeline = FacePipeline(detector=FaceDetector(num_threads=threads), embedder=load_embedder(checkpoint, num_threads=threads))
    by_border, _outside = embed_images(pipeline, paths)
    found = {path: vector for path, vector in by_border[NETWORK_BORDER].items() if vector is not None}
    embeddings = np.stack([found[p] for p in paths if p in found]).astype(np.float32)
    labels = np.array([p.parent.name for p in paths if p in found])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".tmp.npz"), embeddings=embeddings, labels=labels)
    os.replace(cache.with_suffix(".tmp.npz"), cache)
    return embeddings, labels


def split_quality_measures(checkpoint: Path, root: Path, *, threads: int = 2) -> list:
    """The QualityMeasures (ml/faces/quality.py) of the faces ``split_embeddings`` embeds,
    in its order: the same detector and central face, the crop as a person is shown it.
    Cached beside the embeddings; only detection and alignment run, no network."""
    from dataclasses import astuple

    from ml.faces.align import SHOWN_BORDER, AlignmentTemplate, align_face
    from ml.faces.boxes import central_face
    from ml.faces.checkpoint import read_checkpoint
    from ml.faces.detect import FaceDetector
    from ml.faces.imageio import decode_image
    from ml.faces.quality import QualityMeasures, quality_measures

    root = Path(root)
    cache = CACHE_DIR / f"{file_sha256(checkpoint)[:16]}_{root.parent.name}_{root.name}_quality.npz"
    if cache.exists():
        return [QualityMeasures(*row) for row in np.load(cache)["measures"].tolist()]
    template = AlignmentTemplate.from_dict(read_checkpoint(checkpoint)["config"]["alignment_template"])
    detector = FaceDetector(num_threads=threads)
    measures = []
    for path in sorted(p for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES):
        image = decode_image(path, max_side=1600)
        faces = detector.detect(image.pixels)
        if not faces:
            continue
        face = central_face(faces, image.pixels.shape[1], image.pixels.shape[0])
        crop = align_face(image.pixels, face.landmarks, template, border=SHOWN_BORDER)
        box = tuple(v / image.scale for v in face.box)
        measures.append(quality_measures(crop, box, face.landmarks / image.scale, face.score))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache.with_suffix(".tmp.npz"), measures=np.array([astuple(m) for m in measures], dtype=np.float64).reshape(-1, 4))
    os.replace(cache.with_suffix(".tmp.npz"), cache)
    return measures

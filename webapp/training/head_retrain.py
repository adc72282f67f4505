"""Retraining a fused version: its backbones stay frozen, so what a run learns is the
fusion head alone.

Every face the run uses (the libraries' confirmed faces, celeba5 train mixed in so the
head does not forget, the celeba5 val faces) is aligned to each backbone's template (a
celeba5 face detected once for all of them, ml.learning.landmarks) and goes through the
backbones once, as the face and its mirror image (ml.fusion.model.FusedEmbedder.features);
the features are cached in the run's scratch folder. The head is then fine-tuned from the base version's
head on them, with our triplet loss and semi-hard mining and the recipe the head was
trained with (ml.fusion.train_head), the best epoch by celeba5 val kept, and old head and
new are judged on the same features (ml.evaluation.model_compare.embeddings_compare).
Training the head takes seconds, so a resumed run trains it again from the start (seeded
by the run id); only the features, the slow part, are resumed."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from ml.evaluation.model_compare import ComparedVectors, embeddings_compare, whole_people_upto
from ml.faces.embed import load_embedder
from ml.fusion.export import export_retrained_head
from ml.fusion.features import aligned_crops
from ml.fusion.model import FusedEmbedder
from ml.fusion.train_head import train_head
from ml.learning.facecache import FaceCache, list_images
from ml.learning.landmarks import Landmarks, build_landmarks
from webapp.faces.crops import face_crops_for
from webapp.faces.runtime import checkpoint_path, torch_threads
from webapp.training.dataset import base_set_problem, celeba_dir, confirmed_split, val_images_needed, val_pairs
from webapp.training.finetune import run_batch
from webapp.training.models import TrainingRun
from webapp.training.progress import RunCancelled, RunProgress, run_data_update

CHUNK = 256  # faces through the backbones between two progress reports


@dataclass(frozen=True)
class Features:
    """Per backbone, the (N, D_i) unit embeddings of N faces and of their mirror images."""

    parts: list[np.ndarray]
    mirrors: list[np.ndarray]

    def take(self, index: np.ndarray) -> "Features":
        return Features([part[index] for part in self.parts], [mirror[index] for mirror in self.mirrors])

    def save(self, path: Path, **extra: np.ndarray) -> None:
        arrays = {f"part_{i}": part for i, part in enumerate(self.parts)}
        arrays.update({f"mirror_{i}": mirror for i, mirror in enumerate(self.mirrors)})
        temp = path.with_name(f".{path.stem}.tmp.npz")
        np.savez(temp, **arrays, **extra)
        temp.replace(path)  # a stopped worker leaves no half-written features


def _load(path: Path) -> tuple[Features, dict[str, np.ndarray]]:
    with np.load(path) as data:
        count = sum(1 for key in data.files if key.startswith("part_"))
        features = Features([data[f"part_{i}"] for i in range(count)], [data[f"mirror_{i}"] for i in range(count)])
        return features, {key: data[key] for key in data.files if not key.startswith(("part_", "mirror_"))}


def _features(embedder: FusedEmbedder, count: int, crops_of: Callable[[int, int], tuple[np.ndarray, ...]],
              progress: RunProgress, what: str) -> Features:
    """Features of ``count`` faces, CHUNK at a time; crops_of(start, stop) gives their
    crops, one array per template of the embedder."""
    chunks = []
    for start in range(0, count, CHUNK):
        chunks.append(embedder.features(crops_of(start, min(count, start + CHUNK))))
        progress.phase(f"{what}: {min(count, start + CHUNK)} of {count}")
    if not chunks:
        return Features(*embedder.features(crops_of(0, 0)))
    backbones = range(len(embedder.templates))
    return Features([np.concatenate([parts[i] for parts, _ in chunks]) for i in backbones],
                    [np.concatenate([mirrors[i] for _, mirrors in chunks]) for i in backbones])


@dataclass(frozen=True)
class LibraryFeatures:
    features: Features
    labels: np.ndarray  # person ids
    photo_ids: np.ndarray
    held_out: np.ndarray  # bool per face


def library_features(*, run: TrainingRun, folder: Path, embedder: FusedEmbedder, progress: RunProgress) -> LibraryFeatures:
    """The confirmed faces of the run's libraries and their split (dataset.confirmed_split),
    each aligned from its photo to every backbone's template."""
    saved = folder / "library_features.npz"
    if not saved.is_file():
        progress.phase("collecting the confirmed faces")
        faces, labels, held_out = confirmed_split(run)
        features = _features(embedder, len(faces), lambda a, b: face_crops_for(faces[a:b], embedder), progress,
                             "confirmed faces through the networks")
        folder.mkdir(parents=True, exist_ok=True)
        features.save(saved, labels=labels, photo_ids=np.array([f.photo_id for f in faces], dtype=np.int64),
                      held_out=held_out)
    features, rest = _load(saved)
    return LibraryFeatures(features, rest["labels"], rest["photo_ids"], rest["held_out"])


def _celeba_landmarks(folder: Path, progress: RunProgress) -> tuple[Landmarks, Landmarks, int]:
    """(the first VISAGE_RETRAIN_BASE_IMAGES celeba5 train images, the val images every n-th
    val pair needs, n), each face detected once for every template (a network's run
    detects in dataset.base_sets, with its one template)."""
    if problem := base_set_problem():
        raise FileNotFoundError(problem)
    celeba, images = celeba_dir(), settings.VISAGE_RETRAIN_BASE_IMAGES
    log = lambda message, **_: progress.phase(f"preparing celeba5: {message}"[:200])  # noqa: E731
    train = build_landmarks(celeba / "train", folder / f"celeba5_train_{images}_landmarks.npz",
                            images=list_images(celeba / "train")[:images], threads=torch_threads(), log=log)
    every, needed = val_images_needed()
    val = build_landmarks(celeba / "val", folder / f"celeba5_val_every{every}_landmarks.npz", threads=torch_threads(),
                          images=[p for p in list_images(celeba / "val") if str(p.relative_to(celeba / "val")) in needed],
                          log=log)
    return train, val, every


def _landmark_features(marks: Landmarks, embedder: FusedEmbedder, path: Path, progress: RunProgress,
                       what: str) -> Features:
    """Features of the faces found (marks.ok), in their order."""
    rows = np.flatnonzero(marks.ok)
    if not path.is_file():
        _features(embedder, len(rows), lambda a, b: aligned_crops(marks, rows[a:b], embedder.templates), progress,
                  what).save(path)
    return _load(path)[0]


def _labels(marks: Landmarks) -> np.ndarray:
    """Person index per image, as ml.learning.facecache labels a cache."""
    return np.unique(marks.people, return_inverse=True)[1].astype(np.int64)


def _pairs_cache(marks: Landmarks) -> FaceCache:
    """What PairsValidator reads of a cache (paths, ok, labels, root); no crops, as the
    run keeps the val faces' features instead."""
    people = sorted(set(marks.people.tolist()))
    return FaceCache(np.zeros((len(marks.paths), 0, 0, 3), np.uint8), _labels(marks), people, list(marks.paths),
                     marks.ok, str(marks.root))


def run_head_retrain(*, run: TrainingRun, folder: Path, progress: RunProgress) -> tuple[Path, dict]:
    """(the new version's model file, {"old": ..., "new": ...} metrics as
    ml.evaluation.model_compare gives them); RunCancelled when the admin asked to stop."""
    base_file = checkpoint_path(run.base_model)
    embedder = load_embedder(base_file, num_threads=torch_threads())
    library = library_features(run=run, folder=folder, embedder=embedder, progress=progress)
    train_marks, val_marks, every = _celeba_landmarks(folder, progress)
    base = _landmark_features(train_marks, embedder, folder / "celeba5_train_features.npz", progress,
                              "celeba5 train through the networks")
    val_features = _landmark_features(val_marks, embedder, folder / "celeba5_val_features.npz", progress,
                                      "celeba5 val through the networks")
    validator = val_pairs(_pairs_cache(val_marks), every)
    val_rows = np.flatnonzero(val_marks.ok)

    def val_vectors(head) -> np.ndarray:
        return head.embed(val_features.parts, val_features.mirrors)

    def on_val(head) -> dict:
        scores = validator(lambda rows: val_vectors(head)[np.searchsorted(val_rows, rows)])
        return {"accuracy": scores["val_accuracy"], "val_at_far_1e-3": scores["val_at_far_1e-3"]}

    train = ~library.held_out
    base_labels = _labels(train_marks)[train_marks.ok]
    # Library people after celeba5's, as labels of their own.
    library_labels = np.unique(library.labels[train], return_inverse=True)[1] + base_labels.max() + 1
    trained = library.features.take(train)
    training = Features([np.concatenate([b, l]) for b, l in zip(base.parts, trained.parts)],
                        [np.concatenate([b, l]) for b, l in zip(base.mirrors, trained.mirrors)])
    batch = run_batch(library.labels[train], base_labels)
    recipe = embedder.config["head"].get("training", {})
    lr, alpha = settings.VISAGE_RETRAIN_HEAD_LR or float(recipe.get("lr", 1e-4)), float(recipe.get("alpha", 0.2))
    epochs = settings.VISAGE_RETRAIN_EPOCHS
    run_data_update(run.pk, epochs=epochs, batch=batch, trains="the fusion head")
    progress.phase("training the fusion head")
    head, summary = train_head(
        training.parts, np.concatenate([base_labels, library_labels]), on_val, hidden=0, epochs=epochs,
        lr=lr, alpha=alpha, dropout=0.0, eval_every=1, seed=run.pk,
        mirrors=training.mirrors, start=embedder.head, log=lambda *args, **kwargs: None,
        on_epoch=lambda row: (progress.steps_done(row["step"], row["total_steps"], loss=row["loss"],
                                                  seconds=row["minutes"] * 60, message="training the fusion head"),
                              progress.record(row)),
        should_stop=progress.cancelled, **batch,
    )
    if summary["stopped"]:
        raise RunCancelled
    new_file = folder / "model.pt"
    export_retrained_head(base_file, head, new_file, training={
        "retrained_from_version": run.base_model.version, "training_run": run.pk, "epochs": epochs, **batch,
        "lr": lr, "alpha": alpha, "mirror_augment": True,
        "train_faces": len(training.parts[0]), "library_faces": int(train.sum()),
        "best_val_accuracy": summary["best_val_accuracy"], "best_val_val": summary["best_val_val"],
    })
    progress.phase("evaluating old and new model")
    keep = whole_people_upto(library.labels[library.held_out], seed=run.pk)
    held = library.features.take(np.flatnonzero(library.held_out)[keep])
    vectors = {name: ComparedVectors(heldout=h.embed(held.parts, held.mirrors), val=val_vectors(h))
               for name, h in (("old", embedder.head), ("new", head))}
    metrics = embeddings_compare(old=vectors["old"], new=vectors["new"], labels=library.labels[library.held_out][keep],
                                 photo_ids=library.photo_ids[library.held_out][keep], val=validator,
                                 old_threshold=run.base_model.same_person_threshold, seed=run.pk)
    return new_file, metrics

"""What a run learns from and is judged on: the libraries' confirmed faces, aligned again
from their photos and split into training and held-out people, and the first
VISAGE_RETRAIN_BASE_IMAGES images of celeba5 train (mixed in so the network does not
forget) with the celeba5 val pairs. Everything is written into the run's scratch folder
first, so a resumed run finds the same faces and split."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from ml.evaluation.model_compare import LabelledFaces, people_split
from ml.evaluation.verification import PairsValidator, read_pairs
from ml.faces.align import AlignmentTemplate
from ml.learning.facecache import FaceCache, build_cache, write_cache
from webapp.faces.crops import face_crops
from webapp.faces.models import Face
from webapp.training.library import confirmed_faces
from webapp.training.models import TrainingRun
from webapp.training.progress import RunProgress, run_data_update


def celeba_dir() -> Path:
    return Path(settings.FACES_DATA_DIR) / "celeba5"


def base_set_problem() -> str | None:
    """Why a run cannot mix in celeba5 (checked on the web host when a run starts and
    again on the gpu host that runs it: FACES_DATA_DIR may differ between them)."""
    if (celeba_dir() / "train").is_dir() and (celeba_dir() / "pairs_val.txt").is_file():
        return None
    return (f"The base training set is missing: no celeba5 train images or val pairs under {settings.FACES_DATA_DIR} "
            "(set FACES_DATA_DIR on the web and gpu hosts).")


@dataclass
class LibraryData:
    """Aligned crops of the confirmed faces: labels are person ids."""

    crops: np.ndarray
    labels: np.ndarray
    face_ids: np.ndarray
    photo_ids: np.ndarray
    held_out: np.ndarray  # bool per face

    def heldout_faces(self) -> LabelledFaces:
        held = self.held_out
        return LabelledFaces(self.crops[held], self.labels[held], self.photo_ids[held])


def confirmed_split(run: TrainingRun) -> tuple[list[Face], np.ndarray, np.ndarray]:
    """(the confirmed faces of the run's libraries in a stable order, their person ids, a
    bool per face: its person is held out), about 20 % of the people held out, seeded by
    the run id; the split is recorded on the run. Raises TooLittleData."""
    faces = list(
        confirmed_faces(owner_ids=run.owner_ids).select_related("photo")
        .only("id", "person_id", "landmarks", "thumbnail", "photo_id", "photo__file").order_by("photo_id", "id")
    )
    labels = np.array([f.person_id for f in faces], dtype=np.int64)
    training_people, held_people = people_split(labels, seed=run.pk)
    held_out = np.isin(labels, held_people)
    run_data_update(
        run.pk, people=len(set(labels.tolist())), faces=len(faces),
        training_people=len(training_people), training_faces=int((~held_out).sum()),
        heldout_people=len(held_people), heldout_faces=int(held_out.sum()),
    )
    return faces, labels, held_out


def library_collect(*, run: TrainingRun, folder: Path, progress: RunProgress) -> LibraryData:
    """The confirmed faces of the run's libraries (confirmed_split), aligned with the base
    model's template."""
    saved = folder / "library.npz"
    if saved.is_file():  # resumed run: the same faces and split as before
        with np.load(saved) as data:
            return LibraryData(**{key: data[key] for key in LibraryData.__dataclass_fields__})
    progress.phase("collecting the confirmed faces")
    faces, labels, held_out = confirmed_split(run)
    template = AlignmentTemplate.from_dict(run.base_model.alignment_template)
    crops = np.zeros((len(faces), template.size, template.size, 3), np.uint8)
    for start in range(0, len(faces), 256):
        crops[start : start + 256] = face_crops(faces[start : start + 256], template)
        progress.phase(f"aligning confirmed faces: {min(start + 256, len(faces))} of {len(faces)}")
    library = LibraryData(crops=crops, labels=labels, face_ids=np.array([f.pk for f in faces]),
                          photo_ids=np.array([f.photo_id for f in faces]), held_out=held_out)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / ".library.tmp.npz"
    np.savez(temp, **library.__dict__)
    temp.replace(saved)
    return library


def val_images_needed() -> tuple[int, set[str]]:
    """(n, the celeba5 val images, relative to val/, that every n-th val pair needs), n
    being VISAGE_RETRAIN_VAL_PAIRS_EVERY."""
    celeba, every = celeba_dir(), max(1, settings.VISAGE_RETRAIN_VAL_PAIRS_EVERY)
    pairs = read_pairs(celeba / "pairs_val.txt", celeba / "val")[::every]
    return every, {str(p.relative_to(celeba / "val")) for pair in pairs for p in (pair.path_a, pair.path_b)}


def val_pairs(cache: FaceCache, every: int) -> PairsValidator:
    return PairsValidator(cache, celeba_dir() / "pairs_val.txt", every=every)


def base_sets(*, folder: Path, template: AlignmentTemplate, progress: RunProgress) -> tuple[FaceCache, PairsValidator]:
    """(celeba5 train cache, validator on every VISAGE_RETRAIN_VAL_PAIRS_EVERY-th val pair),
    aligned with the base model's template."""
    if problem := base_set_problem():
        raise FileNotFoundError(problem)
    celeba, images = celeba_dir(), settings.VISAGE_RETRAIN_BASE_IMAGES
    log = lambda message: progress.phase(f"preparing celeba5: {message}"[:200])  # noqa: E731
    base = build_cache(celeba / "train", folder / f"celeba5_train_{images}.npy", template=template, limit=images, log=log)
    every, needed = val_images_needed()
    val = build_cache(celeba / "val", folder / f"celeba5_val_every{every}.npy", template=template, only=needed, log=log)
    return base, val_pairs(val, every)


def _training_set_write(*, folder: Path, library: LibraryData, base: FaceCache, progress: RunProgress) -> Path:
    """The training cache: celeba5's crops, then the library's training people's."""
    path = folder / "train.npy"
    if not path.is_file():
        progress.phase("writing the training set")
        train = ~library.held_out
        lib_paths = [f"lib{person}/{face}" for person, face in zip(library.labels[train], library.face_ids[train])]
        write_cache(path, parts=[base.crops, library.crops[train]], paths=base.paths + lib_paths,
                    ok=np.concatenate([base.ok, np.ones(len(lib_paths), bool)]), root="")
    return path


@dataclass(frozen=True)
class RunDataset:
    library: LibraryData
    base: FaceCache  # celeba5 train, mixed in
    val: PairsValidator  # on celeba5 val pairs
    train_cache: Path  # the trainer's input: base, then the library's training people


def run_dataset_collect(*, run: TrainingRun, folder: Path, progress: RunProgress) -> RunDataset:
    """Everything the run learns from and is judged on, aligned with the base model's
    template (written once into ``folder``; a resumed run reads it back)."""
    library = library_collect(run=run, folder=folder, progress=progress)
    template = AlignmentTemplate.from_dict(run.base_model.alignment_template)
    base, val = base_sets(folder=folder, template=template, progress=progress)
    train_cache = _training_set_write(folder=folder, library=library, base=base, progress=progress)
    return RunDataset(library=library, base=base, val=val, train_cache=train_cache)

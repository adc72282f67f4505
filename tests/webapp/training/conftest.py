"""A small library for retraining tests: the BBT character crops and a few celeba5 test
people, each person's faces confirmed under their name."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_user
from webapp.faces.models import Face
from webapp.faces.services import photo_process
from webapp.people.services import faces_name
from webapp.photos.services import album_create, photo_ingest


@pytest.fixture(autouse=True)
def small_runs(settings, training_cache_dir):
    use_small_runs(settings, training_cache_dir)


def use_small_runs(settings, training_cache_dir) -> None:
    """A couple of CPU minutes at most: 100 celeba5 train images, every 10th val pair,
    3 steps of the default batches, cut down to this small training set."""
    settings.VISAGE_TRAINING_DIR = training_cache_dir
    settings.VISAGE_RETRAIN_BASE_IMAGES = 100
    settings.VISAGE_RETRAIN_VAL_PAIRS_EVERY = 10
    settings.VISAGE_RETRAIN_EPOCHS = 1
    settings.VISAGE_RETRAIN_MAX_STEPS = 3
    settings.VISAGE_REEMBED_BATCH = 16


def confirmed_library(owner, faces_data_dir: Path, *, characters: int = 8, celeba_people: int = 6) -> dict[str, list[int]]:
    """Upload, process and name; returns face ids by person name."""
    album = album_create(owner=owner, name="Retraining")
    sources: dict[str, list[Path]] = {}
    for folder in sorted((faces_data_dir / "albums" / "bbt" / "characters").iterdir())[:characters]:
        sources[folder.name] = sorted(folder.iterdir())
    for folder in sorted((faces_data_dir / "celeba5" / "test").iterdir())[:celeba_people]:
        sources[folder.name] = sorted(folder.iterdir())
    photos: dict[str, list[int]] = {}
    for name, paths in sources.items():
        for path in paths:
            with path.open("rb") as handle:
                outcome = photo_ingest(owner=owner, album=album, source=handle, original_name=f"{name}/{path.name}")
            photos.setdefault(name, []).append(outcome.photo_id)
    all_ids = [i for ids in photos.values() for i in ids]
    for start in range(0, len(all_ids), 16):
        photo_process(photo_ids=all_ids[start : start + 16])
    named = {}
    for name, photo_ids in photos.items():
        face_ids = list(Face.objects.filter(photo_id__in=photo_ids).values_list("pk", flat=True))
        if len(face_ids) >= 2:
            faces_name(owner=owner, face_ids=face_ids, name=name)
            named[name] = face_ids
    return named


@pytest.fixture
def staff(db):
    return make_user("admin", is_staff=True)

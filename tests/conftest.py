"""Fixtures shared by every test: real data folders, users, a temporary MEDIA_ROOT.

The database is the real embedded PostgreSQL with pgvector (see webapp/settings.py)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings

FIXTURES = Path(__file__).parent / "fixtures"
# Before any test module is imported: tests/test_architecture.py checks that collecting
# them does not point the process at another database.
DATABASE_URL_AT_START = os.environ.get("DATABASE_URL")


def require_program(name: str) -> str:
    """Path of a Debian program the tests drive. `make test` installs it; CI must have it,
    a developer's machine without it skips the test."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: `make test` installs it (apt-get install {name})")
        pytest.skip(f"{name} not installed (make test installs it)")
    return path


@pytest.fixture(scope="session")
def faces_data_dir() -> Path:
    path = Path(settings.FACES_DATA_DIR)
    if not (path / "albums").is_dir():
        pytest.skip(f"face data not found at {path} (set FACES_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def albums_dir(faces_data_dir: Path) -> Path:
    return faces_data_dir / "albums"


@pytest.fixture(scope="session")
def expected_face_counts() -> dict[str, int]:
    counts = json.loads((FIXTURES / "face_counts.json").read_text())
    counts.pop("_comment")
    return counts


@pytest.fixture(autouse=True)
def media_root(tmp_path_factory, settings) -> Path:
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def shipped_model_registered(request):
    """The data migrations register the shipped models (the mirror-averaged one active),
    but the flush after a transactional test deletes them; put them back for every
    database test."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from django.conf import settings as django_settings

    from webapp.faces.models import EmbeddingModel, Face
    from webapp.faces.registry import register_fused_model, register_mirror_model, register_shipped_model

    register_shipped_model(EmbeddingModel, django_settings.MODELS_DIR)
    register_mirror_model(EmbeddingModel, django_settings.MODELS_DIR, make_active=not Face.objects.exists())
    register_fused_model(EmbeddingModel, django_settings.MODELS_DIR)


@pytest.fixture(autouse=True)
def no_auto_grouping(settings):
    """Grouping after uploads would make every upload test also a grouping test."""
    settings.VISAGE_AUTO_GROUP = False


@pytest.fixture(autouse=True)
def eager_celery():
    """Run tasks in-process; the integration tests start a real worker instead."""
    from workers.celery_app import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager = False


def make_user(username: str, *, password: str = "correct horse battery", **extra):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username=username, password=password, **extra)


@pytest.fixture
def user(db):
    return make_user("alice")


@pytest.fixture
def other_user(db):
    return make_user("bob")


@pytest.fixture
def alice_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def training_cache_dir(tmp_path_factory) -> Path:
    """VISAGE_TRAINING_DIR of the retraining tests: the celeba5 caches are built once per
    session and shared by the runs of every test (run folders are per run id)."""
    return tmp_path_factory.mktemp("training")

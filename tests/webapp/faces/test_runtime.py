"""Checkpoints of retrained versions are copied from the media storage to a local cache."""
import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from webapp.faces.models import EmbeddingModel
from webapp.faces.runtime import STORED_PREFIX, checkpoint_path


@pytest.fixture
def stored_file(settings, tmp_path):
    settings.DATA_DIR = str(tmp_path / "data")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return default_storage.save("models/retrained.pt", ContentFile(b"weights of a retrained version"))


def _version(name: str, sha256: str) -> EmbeddingModel:
    return EmbeddingModel(version=9, name="retrained", architecture="dlib_resnet", checkpoint=STORED_PREFIX + name,
                          checkpoint_sha256=sha256, input_size=150, alignment_template={}, same_person_threshold=0.1)


def test_stored_checkpoint_is_copied_once_and_checked(stored_file):
    sha = hashlib.sha256(b"weights of a retrained version").hexdigest()
    local = checkpoint_path(_version(stored_file, sha))
    assert local.read_bytes() == b"weights of a retrained version"
    assert sorted(p.name for p in local.parent.iterdir()) == [f"{sha}.pt"]


def test_corrupt_stored_checkpoint_is_refused_and_leaves_no_partial_file(stored_file, tmp_path):
    with pytest.raises(ValueError, match="does not match"):
        checkpoint_path(_version(stored_file, "0" * 64))
    assert list((tmp_path / "data" / "model-cache").iterdir()) == []

"""A fused model version in the app: registered from its one checkpoint file, kept in the
media storage as a retrained version is (so workers fetch it by sha256), its pipeline
built by the runtime, and every face re-embedded by a switch to it, including a face whose
photo is lost (re-embedded from its stored crop)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.files import File
from django.core.files.storage import default_storage

from ml.faces.align import estimate_similarity, outside_mask
from ml.fusion.model import FusedEmbedder
from tests.ml.fusion.fused import export_test_model
from webapp.faces.crops import carried, face_crops_for
from webapp.faces.models import EmbeddingModel, Face, FaceEmbedding
from webapp.faces.registry import checkpoint_file_fields, model_version_create
from webapp.faces.runtime import STORED_PREFIX, face_pipeline_for
from webapp.faces.services import photo_process
from webapp.photos.services import album_create, photo_ingest
from webapp.training.models import ModelSwitch
from webapp.training.switching import switch_reembed_batch, switch_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def fused_version(settings, tmp_path) -> EmbeddingModel:
    settings.DATA_DIR = str(tmp_path / "data")  # the worker's model cache
    path = export_test_model(tmp_path / "export")
    with path.open("rb") as handle:
        name = default_storage.save("models/fused.pt", File(handle))
    return model_version_create(model_class=EmbeddingModel, name="fused", is_active=False,
                                **checkpoint_file_fields(path, checkpoint=STORED_PREFIX + name))


def _upload(owner, albums_dir: Path, names: list[str]) -> list[Face]:
    album = album_create(owner=owner, name="Portraits")
    ids = []
    for name in names:
        with (albums_dir / name).open("rb") as handle:
            ids.append(photo_ingest(owner=owner, album=album, source=handle, original_name=Path(name).name).photo_id)
    photo_process(photo_ids=ids)
    return list(Face.objects.filter(photo_id__in=ids).select_related("photo").order_by("photo_id", "id"))


def test_a_switch_re_embeds_every_face_with_the_fused_version(user, staff, albums_dir, fused_version,
                                                              django_capture_on_commit_callbacks):
    assert (fused_version.architecture, fused_version.embedding_dim, fused_version.input_size) == ("fused", 128, 150)
    faces = _upload(user, albums_dir, ["friends/paul_rudd.jpg", "friends/kate_siegel.jpg"])
    lost = faces[-1]
    assert len({f.photo_id for f in faces}) == 2 and sum(f.photo_id == lost.photo_id for f in faces) == 1
    embedder = face_pipeline_for(fused_version).embedder
    assert isinstance(embedder, FusedEmbedder) and embedder.template.to_dict() == fused_version.alignment_template
    from_photos = face_crops_for(faces, embedder)
    expected = embedder.embed(from_photos)

    lost.photo.file.storage.delete(lost.photo.file.name)  # the row still names the file
    # The lost face's crops: its stored primary crop, and the ArcFace crop cut from it,
    # the same but for JPEG and resampling where it lies inside the primary crop.
    primary, arcface = face_crops_for([Face.objects.select_related("photo").get(pk=lost.pk)], embedder)
    assert np.abs(primary[0].astype(int) - from_photos[0][-1]).mean() < 3
    landmarks = np.asarray(lost.landmarks, np.float32)
    in_primary = carried(landmarks, estimate_similarity(landmarks, np.asarray(embedder.template.points)))
    beyond = outside_mask(primary[0].shape, in_primary, embedder.templates[1])
    assert 0 < beyond.mean() < 0.3  # the ArcFace crop reaches past the dlib chip (a quarter of it)
    assert np.abs(arcface[0].astype(int) - from_photos[1][-1])[~beyond].mean() < 3

    with django_capture_on_commit_callbacks(execute=False):
        switch = switch_start(target_id=fused_version.pk, user=staff, kind=ModelSwitch.Kind.PROMOTE)
    assert switch_reembed_batch(switch=switch, batch_size=16) == len(faces)
    staged = dict(FaceEmbedding.objects.filter(embedding_model=fused_version).values_list("face_id", "embedding"))
    for face, vector in zip(faces, expected):
        got = np.asarray(staged[face.pk], np.float32)
        assert got.shape == (128,) and abs(np.linalg.norm(got) - 1) < 1e-5
        if face.pk == lost.pk:
            # 0.057 measured: mostly the ArcFace crop's quarter that lies past the stored
            # dlib chip, filled with the chip's edge.
            assert 1.0 - float(got @ vector) < 0.1, 1.0 - float(got @ vector)
        else:
            np.testing.assert_allclose(got, vector, atol=1e-5)


def test_the_shipped_fused_version_is_registered_with_its_join_settings(staff, faces_data_dir):
    """The migration registers models/fused_dlib_fr_feature.pt inactive, with the join
    settings chosen for it (its checkpoint config's "grouping") as the row's. Retraining
    it: test_retraining_fused.py."""
    from django.conf import settings as django_settings

    from ml.faces.checkpoint import read_checkpoint
    from ml.grouping.merge import JoinSettings
    from webapp.faces.registry import FUSED_CHECKPOINT

    fused = EmbeddingModel.objects.get(checkpoint=FUSED_CHECKPOINT)
    assert not fused.is_active and fused.architecture == "fused"
    stored = read_checkpoint(Path(django_settings.MODELS_DIR) / FUSED_CHECKPOINT)["config"]["grouping"]
    assert fused.grouping == stored and JoinSettings.from_dict(fused.grouping) != JoinSettings()


def test_a_row_registered_before_its_settings_were_rechosen_takes_them_from_the_file(settings):
    """Migration faces/0016: an install that registered the fused file with its first
    grouping settings (another sha256, so a worker would refuse the file) takes the file's."""
    from ml.faces.checkpoint import file_sha256, read_checkpoint
    from webapp.faces.registry import FUSED_CHECKPOINT, settings_refresh

    path = Path(settings.MODELS_DIR) / FUSED_CHECKPOINT
    first = {"merge_factor": 1.025, "margin_share": 0.467, "attach_min_size": 2, "attach_share": 1.0, "attach_gap_share": 0.08}
    EmbeddingModel.objects.filter(checkpoint=FUSED_CHECKPOINT).update(checkpoint_sha256="0" * 64, grouping=first)
    others = list(EmbeddingModel.objects.exclude(checkpoint=FUSED_CHECKPOINT).values_list("checkpoint_sha256", "grouping"))
    settings_refresh(EmbeddingModel, settings.MODELS_DIR, FUSED_CHECKPOINT)
    fused = EmbeddingModel.objects.get(checkpoint=FUSED_CHECKPOINT)
    assert fused.checkpoint_sha256 == file_sha256(path)
    assert fused.grouping == read_checkpoint(path)["config"]["grouping"] != first
    assert list(EmbeddingModel.objects.exclude(checkpoint=FUSED_CHECKPOINT).values_list("checkpoint_sha256", "grouping")) == others

"""Retraining while the fused version is active: the run fine-tunes its fusion head on
the library's confirmed people (the backbones stay frozen) and registers a fused version
that promotes and re-embeds like any other."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.faces.checkpoint import FUSED_ARCHITECTURE, read_checkpoint
from webapp.faces.models import EmbeddingModel, Face
from webapp.faces.registry import FUSED_CHECKPOINT
from webapp.faces.runtime import checkpoint_path
from webapp.faces.selectors import embedding_model_active
from webapp.training.head_retrain import run_head_retrain
from webapp.training.models import ModelSwitch, TrainingRun
from webapp.training.progress import RunProgress
from webapp.training.runs import training_start
from webapp.training.scratch import run_dir
from webapp.training.switching import switch_start
from tests.webapp.training.conftest import confirmed_library

pytestmark = pytest.mark.django_db


def promote(model: EmbeddingModel, user, capture) -> None:
    with capture(execute=True):  # eager Celery: every face re-embedded here
        switch = switch_start(target_id=model.pk, user=user, kind=ModelSwitch.Kind.PROMOTE)
    switch.refresh_from_db()
    assert switch.status == ModelSwitch.Status.DONE, switch.error
    assert embedding_model_active() == model


def test_a_fused_version_retrains_its_head_and_promotes(staff, faces_data_dir, settings,
                                                        django_capture_on_commit_callbacks):
    settings.VISAGE_RETRAIN_EPOCHS = 3
    named = confirmed_library(staff, faces_data_dir)
    fused = EmbeddingModel.objects.get(checkpoint=FUSED_CHECKPOINT)
    promote(fused, staff, django_capture_on_commit_callbacks)
    fused_vectors = dict(Face.objects.values_list("pk", "embedding"))

    with django_capture_on_commit_callbacks(execute=True):
        run = training_start(user=staff, owner_ids=None)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FINISHED, run.error
    assert run.base_model == fused and run.data["trains"] == "the fusion head"
    assert run.data["heldout_people"] >= 2 and run.data["training_people"] + run.data["heldout_people"] == len(named)
    assert [record["epoch"] for record in run.data["log"]] == [1, 2, 3]  # every epoch scored on celeba5 val
    assert run.progress_done == run.progress_total == run.data["log"][-1]["total_steps"]
    for side in ("old", "new"):
        assert run.metrics[side]["celeba_val"]["pairs"] == 300
        assert 0 <= run.metrics[side]["heldout"]["grouping_f1"] <= 1
    # The old head's figures are the registered fused version's own (about 96 % on celeba5 val).
    assert run.metrics["old"]["celeba_val"]["accuracy"] > 0.9
    assert run.recommendation.startswith(("Promote", "Keep"))
    assert not run_dir(run.pk).exists()

    new = run.result_model
    assert new.architecture == FUSED_ARCHITECTURE and not new.is_active
    assert new.grouping == fused.grouping and new.alignment_template == fused.alignment_template
    assert new.same_person_threshold == run.metrics["new"]["threshold"] and new.calibration
    old_payload, new_payload = read_checkpoint(checkpoint_path(fused)), read_checkpoint(checkpoint_path(new))
    # The backbones are the base's, bit for bit; only the head moved.
    for name, state in old_payload["backbone_state"].items():
        assert all(torch.equal(state[key], new_payload["backbone_state"][name][key]) for key in state)
    assert all(torch.equal(old_payload["onnx"][name], new_payload["onnx"][name]) for name in old_payload["onnx"])
    moved = [not torch.equal(old_payload["state_dict"][key], new_payload["state_dict"][key]) for key in old_payload["state_dict"]]
    assert any(moved)
    training = new_payload["config"]["head"]["training"]
    assert training["retrained_from_version"] == fused.version and training["training_run"] == run.pk
    assert training["library_faces"] == run.data["training_faces"]

    promote(new, staff, django_capture_on_commit_callbacks)
    after = dict(Face.objects.values_list("pk", "embedding"))
    assert set(after) == set(fused_vectors)
    assert all(not np.allclose(after[pk], fused_vectors[pk]) for pk in after)  # the new head's vectors
    assert all(abs(np.linalg.norm(np.asarray(vector)) - 1) < 1e-4 for vector in after.values())


def test_a_resumed_fused_run_reuses_its_cached_features_and_trains_the_same_head(staff, faces_data_dir, settings):
    """A worker that dies after the features were cached (the slow part) leaves them for the
    next one, which trains the head again from the same seed to the same weights."""
    settings.VISAGE_RETRAIN_VAL_PAIRS_EVERY = 30
    confirmed_library(staff, faces_data_dir)
    fused = EmbeddingModel.objects.get(checkpoint=FUSED_CHECKPOINT)
    run = TrainingRun.objects.create(base_model=fused, owner_ids=None, status=TrainingRun.Status.RUNNING)
    folder = run_dir(run.pk)
    first_file, first = run_head_retrain(run=run, folder=folder, progress=RunProgress(run))
    cached = {path.name: path.stat().st_mtime_ns for path in folder.glob("*.npz")}
    assert set(cached) == {"library_features.npz", "celeba5_train_features.npz", "celeba5_val_features.npz",
                           f"celeba5_train_{settings.VISAGE_RETRAIN_BASE_IMAGES}_landmarks.npz",
                           "celeba5_val_every30_landmarks.npz"}
    first_state = read_checkpoint(first_file)["state_dict"]
    first_file.unlink()  # the worker died before the model was stored

    second_file, second = run_head_retrain(run=run, folder=folder, progress=RunProgress(run))
    assert {path.name: path.stat().st_mtime_ns for path in folder.glob("*.npz")} == cached  # nothing computed again
    second_state = read_checkpoint(second_file)["state_dict"]
    assert all(torch.equal(first_state[key], second_state[key]) for key in first_state)
    assert second == first

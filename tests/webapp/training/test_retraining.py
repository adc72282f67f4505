"""Retraining end to end on a small library: a run, promotion with re-embedding, rollback."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from django.core.files.storage import default_storage
from django.utils import timezone

from webapp.core.jobs import Claim, job_claim
from webapp.faces.models import EmbeddingModel, Face, FaceEmbedding
from webapp.faces.selectors import embedding_model_active
from webapp.faces.similarity import nearest_faces
from webapp.training.models import ModelSwitch, TrainingRun
from webapp.training.finetune import batch_shape
from webapp.training.runs import RunRefused, training_discard, training_execute, training_start
from webapp.training.scratch import run_dir
from webapp.training.switching import SwitchRefused, embeddings_cleanup, switch_execute, switch_reembed_batch, switch_start
from tests.webapp.training.conftest import confirmed_library

pytestmark = pytest.mark.django_db


def shipped_versions() -> int:
    """Versions registered by the migrations (nothing trained)."""
    return EmbeddingModel.objects.exclude(checkpoint__startswith="storage:").count()


def vectors_by_face() -> dict[int, np.ndarray]:
    return {pk: np.asarray(v) for pk, v in Face.objects.values_list("pk", "embedding")}


def neighbours(owner, face: Face) -> list[int]:
    model = embedding_model_active()
    return [n.face_id for n in nearest_faces(owner_id=owner.pk, model_id=model.pk, query=face.embedding, limit=5,
                                              exclude_face_id=face.pk, exact=True)]


def test_run_promote_and_roll_back(staff, other_user, faces_data_dir, django_capture_on_commit_callbacks):
    named = confirmed_library(staff, faces_data_dir)
    assert len(named) >= 12  # most BBT crops and every celeba5 face are detected
    with pytest.raises(RunRefused, match="Too little data: 0 people"):  # only the chosen libraries count
        training_start(user=staff, owner_ids=[other_user.pk])
    v1 = embedding_model_active()
    before = vectors_by_face()

    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the task runs here
        run = training_start(user=staff, owner_ids=None)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FINISHED, run.error
    assert run.progress_done == run.progress_total == 2  # one epoch of the two batches this set makes (cap: 3)
    assert run.data["heldout_people"] >= 2 and run.data["training_people"] + run.data["heldout_people"] == len(named)
    # The default 200 people + 40 a batch, cut down to this set: two batches an epoch at least.
    people_with_k = run.data["training_people"] + 20  # 100 celeba5 train images: 20 people x 5
    assert run.data["batch"]["p"] == people_with_k // 2 and 0 < run.data["batch"]["extra"] < 40
    assert 0 <= run.metrics["new"]["heldout"]["halves_won"] <= 1 and "random halves" in run.recommendation
    for side in ("old", "new"):
        assert 0 <= run.metrics[side]["heldout"]["val"] <= 1
        assert 0 <= run.metrics[side]["heldout"]["grouping_f1"] <= 1
        assert run.metrics[side]["celeba_val"]["pairs"] == 300
    # The old model's figures on celeba5 val are the shipped model's own (v1: ~95 %).
    assert run.metrics["old"]["celeba_val"]["accuracy"] > 0.9
    assert run.recommendation.startswith(("Promote", "Keep"))
    v2 = run.result_model
    # The next free number: the shipped versions (the fused one too) come first.
    assert v2.version == max(EmbeddingModel.objects.exclude(pk=v2.pk).values_list("version", flat=True)) + 1
    assert not v2.is_active and v2.same_person_threshold > 0
    assert default_storage.exists(v2.checkpoint.removeprefix("storage:"))
    assert not run_dir(run.pk).exists()  # its scratch files go once the model is stored
    assert [record["step"] for record in run.data["log"]] == [2]  # the trainer's epoch record, kept on the row
    assert 0 <= run.data["log"][0]["active_share"] <= 1

    # Promotion: while faces are re-embedded, search answers from v1 and nothing moves.
    probe = Face.objects.filter(pk=named["sheldon"][0]).first()
    answer_before = neighbours(staff, probe)
    with django_capture_on_commit_callbacks(execute=False):
        switch = switch_start(target_id=v2.pk, user=staff, kind=ModelSwitch.Kind.PROMOTE)
    claim, switch = job_claim(ModelSwitch, switch.pk)
    assert claim is Claim.TAKEN
    assert switch_reembed_batch(switch=switch, batch_size=16) == 16
    assert FaceEmbedding.objects.filter(embedding_model=v2).count() == 16
    assert embedding_model_active() == v1
    assert neighbours(staff, probe) == answer_before
    assert set(Face.objects.values_list("embedding_model_id", flat=True)) == {v1.pk}
    with pytest.raises(SwitchRefused, match="in progress"):
        switch_start(target_id=v1.pk, user=staff, kind=ModelSwitch.Kind.ROLLBACK)

    switch = switch_execute(switch=switch, batch_size=16)
    assert switch.status == ModelSwitch.Status.DONE and switch.progress_done == switch.progress_total == len(before)
    assert embedding_model_active() == v2
    assert set(Face.objects.values_list("embedding_model_id", flat=True)) == {v2.pk}
    after = vectors_by_face()
    assert all(not np.allclose(after[pk], before[pk]) for pk in before)  # really the new network's vectors
    # v1's vectors are kept for a rollback, exactly as they were.
    kept = dict(FaceEmbedding.objects.filter(embedding_model=v1).values_list("face_id", "embedding"))
    assert set(kept) == set(before) and all(np.array_equal(np.asarray(kept[pk]), before[pk]) for pk in before)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.PROMOTED
    with pytest.raises(RunRefused):
        training_discard(run_id=run.pk)

    # Rollback: every face gets its v1 vector back, bit for bit.
    with django_capture_on_commit_callbacks(execute=True):
        rollback = switch_start(target_id=v1.pk, user=staff, kind=ModelSwitch.Kind.ROLLBACK)
    rollback.refresh_from_db()
    assert rollback.status == ModelSwitch.Status.DONE
    assert embedding_model_active() == v1
    restored = vectors_by_face()
    assert all(np.array_equal(restored[pk], before[pk]) for pk in before)
    assert neighbours(staff, probe) == answer_before
    assert FaceEmbedding.objects.filter(embedding_model=v2).count() == len(before)

    assert embeddings_cleanup() == len(before)
    assert FaceEmbedding.objects.count() == 0


def test_batches_are_cut_down_to_fit_a_small_training_set(settings):
    settings.VISAGE_RETRAIN_BATCH_PEOPLE, settings.VISAGE_RETRAIN_BATCH_EXTRA = 200, 40
    assert batch_shape(with_k=1742, identities=1742, k=3) == {"p": 200, "k": 3, "extra": 40}
    # 31 people with k faces: two batches of 15 an epoch; 33 people in all: 18 left as extras.
    assert batch_shape(with_k=31, identities=33, k=2) == {"p": 15, "k": 2, "extra": 18}


def test_second_run_refused_while_one_is_open(staff, faces_data_dir):
    TrainingRun.objects.create(base_model=embedding_model_active(), status=TrainingRun.Status.RUNNING, heartbeat_at=timezone.now())
    with pytest.raises(RunRefused, match="one run at a time"):
        training_start(user=staff, owner_ids=None)
    assert TrainingRun.objects.count() == 1


def test_too_little_data_is_refused(staff, faces_data_dir):
    confirmed_library(staff, faces_data_dir, characters=4, celeba_people=0)
    with pytest.raises(RunRefused, match="Too little data: 4 people"):
        training_start(user=staff, owner_ids=None)
    assert not TrainingRun.objects.exists()


def test_promoting_the_active_or_a_missing_version_is_refused(staff):
    v1 = embedding_model_active()
    with pytest.raises(SwitchRefused, match="already the active"):
        switch_start(target_id=v1.pk, user=staff, kind=ModelSwitch.Kind.PROMOTE)
    with pytest.raises(SwitchRefused, match="No such"):
        switch_start(target_id=10_000, user=staff, kind=ModelSwitch.Kind.PROMOTE)
    assert not ModelSwitch.objects.exists()


def test_a_held_job_is_not_taken_twice(staff):
    run = TrainingRun.objects.create(base_model=embedding_model_active())
    assert job_claim(TrainingRun, run.pk)[0] is Claim.TAKEN
    assert job_claim(TrainingRun, run.pk)[0] is Claim.HELD_ELSEWHERE  # fresh heartbeat: a duplicate delivery
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=run.created_at.replace(year=2000))
    assert job_claim(TrainingRun, run.pk)[0] is Claim.TAKEN  # its worker died: resume
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.FINISHED)
    assert job_claim(TrainingRun, run.pk)[0] is Claim.OVER
    assert EmbeddingModel.objects.count() == shipped_versions()


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_run_leaves_nothing_behind(staff, faces_data_dir, settings, media_root):
    """The worker (a thread here, on its own connection) stops at its next step; no model
    row, no stored checkpoint and no run folder remain."""
    import threading
    import time

    from django.db import connection

    from webapp.training.runs import training_cancel

    settings.VISAGE_RETRAIN_EPOCHS = settings.VISAGE_RETRAIN_MAX_STEPS = 200  # far more than it gets to run
    confirmed_library(staff, faces_data_dir, characters=0, celeba_people=6)
    run = TrainingRun.objects.create(base_model=embedding_model_active(), created_by=staff)
    claim, run = job_claim(TrainingRun, run.pk)
    outcome = {}

    def worker():
        try:
            outcome["run"] = training_execute(run=run)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 240
    while TrainingRun.objects.get(pk=run.pk).progress_done < 1:
        assert thread.is_alive() and time.monotonic() < deadline, "the run never reached its first step"
        time.sleep(0.2)
    training_cancel(run_id=run.pk)
    thread.join(timeout=120)
    assert not thread.is_alive()
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
    assert 1 <= run.progress_done < 200
    assert run.result_model is None and EmbeddingModel.objects.count() == shipped_versions()
    assert not run_dir(run.pk).exists()
    assert not (media_root / "models").exists() or not any((media_root / "models").iterdir())


def test_a_failing_run_records_its_error_and_leaves_no_version(staff, faces_data_dir, settings, tmp_path, client,
                                                                 django_capture_on_commit_callbacks):
    confirmed_library(staff, faces_data_dir, characters=0, celeba_people=6)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        run = training_start(user=staff, owner_ids=None)
    settings.FACES_DATA_DIR = tmp_path / "nowhere"  # gone from the worker's host by the time it runs
    for send in queued:
        send()
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "The base training set is missing" in run.error
    assert run.result_model is None and EmbeddingModel.objects.count() == shipped_versions()
    assert not run_dir(run.pk).exists()
    client.force_login(staff)
    assert "The base training set is missing" in client.get("/model/").content.decode()
    with pytest.raises(RunRefused, match="The base training set is missing"):  # and a new start says so at once
        training_start(user=staff, owner_ids=None)


def test_a_compact_network_version_is_retrained_through_the_same_path(staff, faces_data_dir, settings,
                                                                        django_capture_on_commit_callbacks):
    """Only the tail the network declares trains (compact_resnet: stage4 and the head)."""
    from ml.faces.checkpoint import read_checkpoint
    from webapp.faces.registry import checkpoint_fields, model_version_create
    from webapp.faces.runtime import checkpoint_path

    EmbeddingModel.objects.filter(is_active=True).update(is_active=False)
    compact = model_version_create(model_class=EmbeddingModel, name="compact", is_active=True,
                                   **checkpoint_fields(settings.MODELS_DIR, "compact_resnet_scratch.pt"))
    confirmed_library(staff, faces_data_dir, characters=0, celeba_people=6)
    with django_capture_on_commit_callbacks(execute=True):
        run = training_start(user=staff, owner_ids=None)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FINISHED, run.error
    assert run.base_model == compact and run.progress_done == run.progress_total >= 1
    new = run.result_model
    assert (new.architecture, new.version, new.is_active) == ("compact_resnet", compact.version + 1, False)
    assert 0 <= run.metrics["new"]["heldout"]["val"] <= 1 and run.metrics["new"]["threshold"] > 0
    before = read_checkpoint(checkpoint_path(compact))["state_dict"]
    after = read_checkpoint(checkpoint_path(new))["state_dict"]
    assert read_checkpoint(checkpoint_path(new))["config"]["mirror_average"] is True  # kept from the base
    for name in before:
        if name.startswith(("stem.", "stage1.", "stage2.", "stage3.")):
            assert torch.equal(before[name], after[name]), name
    assert any(not torch.equal(before[name], after[name]) for name in before if name.startswith(("stage4.", "fc")))
    assert not run_dir(run.pk).exists()


class WorkerKilled(BaseException):
    """What the run sees of a worker killed mid-step: nothing of its own clean-up runs."""


def test_scratch_files_stay_while_a_run_can_resume_and_go_when_it_ends(staff, faces_data_dir, settings, monkeypatch):
    from webapp.training.progress import RunProgress

    settings.VISAGE_RETRAIN_EPOCHS = settings.VISAGE_RETRAIN_MAX_STEPS = 4  # one step an epoch: last.pt each step
    confirmed_library(staff, faces_data_dir, characters=0, celeba_people=6)
    run = job_claim(TrainingRun, TrainingRun.objects.create(base_model=embedding_model_active(), created_by=staff).pk)[1]
    report_step = RunProgress.step

    def killed_at_step_3(self, state, result):
        report_step(self, state, result)
        if state.step == 3:
            raise WorkerKilled

    monkeypatch.setattr(RunProgress, "step", killed_at_step_3)
    with pytest.raises(WorkerKilled):
        training_execute(run=run)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING and run.progress_done == 3
    folder = run_dir(run.pk)
    kept = {path.name for path in folder.iterdir()}
    assert {"library.npz", "train.npy", "celeba5_train_100.npy", "celeba5_val_every10.npy", "train"} <= kept
    assert (folder / "train" / "last.pt").is_file()

    monkeypatch.setattr(RunProgress, "step", report_step)
    run = training_execute(run=run)
    assert run.status == TrainingRun.Status.FINISHED, run.error
    assert run.data["resumed_from_step"] == 2  # last.pt of the step before the kill
    assert run.progress_done == run.progress_total == 4
    assert not folder.exists()


def test_a_start_sweeps_the_folders_of_runs_that_cannot_resume(staff, faces_data_dir):
    base = embedding_model_active()
    ended = TrainingRun.objects.create(base_model=base, status=TrainingRun.Status.FAILED)  # e.g. a stale heartbeat
    running = TrainingRun.objects.create(base_model=base, status=TrainingRun.Status.RUNNING, heartbeat_at=timezone.now())
    for run_id in (ended.pk, running.pk, 10_000):  # 10_000: a run whose row is gone
        run_dir(run_id).mkdir(parents=True)
        (run_dir(run_id) / "train.npy").write_bytes(b"x")
    with pytest.raises(RunRefused, match="one run at a time"):
        training_start(user=staff, owner_ids=None)
    assert run_dir(running.pk).is_dir() and not run_dir(ended.pk).exists() and not run_dir(10_000).exists()

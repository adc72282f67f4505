"""A worker killed in the middle of a retraining run: the next worker resumes it from the
last checkpoint instead of starting over (real Redis, real worker processes)."""
from __future__ import annotations

import signal
import time

import pytest

from webapp.faces.models import EmbeddingModel
from webapp.training.models import TrainingRun
from webapp.training.runs import training_start
from tests.webapp.training.conftest import confirmed_library

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STEPS = 12


def wait_for_run(run_id: int, predicate, *, timeout: float, what: str, workers, process) -> TrainingRun:
    deadline = time.monotonic() + timeout
    while True:
        run = TrainingRun.objects.get(pk=run_id)
        if predicate(run):
            return run
        workers.check_alive(process)
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {run.status} {run.message} step {run.progress_done}"
        time.sleep(0.3)


def test_a_run_whose_worker_is_killed_resumes_from_its_checkpoint(workers, user, faces_data_dir, training_cache_dir):
    confirmed_library(user, faces_data_dir, characters=0, celeba_people=6)
    env = {
        "VISAGE_TRAINING_DIR": str(training_cache_dir),
        "VISAGE_RETRAIN_BASE_IMAGES": "100", "VISAGE_RETRAIN_VAL_PAIRS_EVERY": "10",
        # One step per epoch: last.pt is written after every step.
        "VISAGE_RETRAIN_EPOCHS": str(STEPS), "VISAGE_RETRAIN_MAX_STEPS": str(STEPS),
        "VISAGE_RETRAIN_BATCH_PEOPLE": "8", "VISAGE_RETRAIN_BATCH_EXTRA": "4",
        "VISAGE_JOB_STALE_AFTER_S": "3",
    }
    first = workers.start(**env)
    run = training_start(user=user, owner_ids=None)
    wait_for_run(run.pk, lambda r: r.progress_done >= 3, timeout=300, what="step 3", workers=workers, process=first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = TrainingRun.objects.get(pk=run.pk).progress_done
    assert killed_at < STEPS

    time.sleep(3.5)  # the dead worker's heartbeat goes stale
    second = workers.start(**env)
    run = wait_for_run(run.pk, lambda r: not r.is_open, timeout=300, what="the run to end", workers=workers, process=second)
    assert run.status == TrainingRun.Status.FINISHED, run.error
    assert 1 <= run.data["resumed_from_step"] <= killed_at  # went on from a checkpoint, not from step 0
    assert run.progress_done == run.progress_total == STEPS
    assert EmbeddingModel.objects.filter(pk=run.result_model_id, is_active=False).exists()
    assert "resumed from" in workers.log(1)

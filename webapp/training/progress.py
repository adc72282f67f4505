"""What a running retraining run tells its row: phase (the job's message), step, loss, ETA
and the worker's heartbeat (webapp.core.jobs.Job.report); and whether the admin has asked
it to stop."""
from __future__ import annotations

import math

from ml.learning.trainer import StepResult, TrainState
from webapp.training.models import TrainingRun


class RunCancelled(Exception):
    pass


def run_data_update(run_id: int, **values) -> dict:
    """Merge ``values`` into the run's data (only the worker holding the run writes it)."""
    data = {**(TrainingRun.objects.values_list("data", flat=True).get(pk=run_id) or {}), **values}
    TrainingRun.objects.filter(pk=run_id).update(data=data)
    return data


def _finite(value):
    """JSON has no NaN: an undefined figure (no active triplet in a window) is stored as null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


class RunProgress:
    """The trainer's hooks and the executor's phases, written on the run row; raises
    RunCancelled at a phase change once the admin has asked to cancel."""

    def __init__(self, run: TrainingRun) -> None:
        self.run = run
        self.run_id = run.pk

    def phase(self, text: str) -> None:
        self.run.report(message=text[:200])
        self.check_cancel()

    def step(self, state: TrainState, result: StepResult) -> None:
        self.steps_done(state.step, state.total_steps, loss=result.loss, seconds=state.seconds)

    def steps_done(self, done: int, total: int, *, loss: float, seconds: float, message: str = "training") -> None:
        eta = seconds / max(1, done) * (total - done)
        self.run.report(done=done, total=total, message=message, loss=_finite(loss), eta_seconds=eta)

    def validated(self, state: TrainState, record: dict) -> None:
        self.record(record)

    def record(self, record: dict) -> None:
        """Each epoch's training figures (the trainer's log record) go into data["log"]."""
        log = (TrainingRun.objects.values_list("data", flat=True).get(pk=self.run_id) or {}).get("log", [])
        run_data_update(self.run_id, log=[*log, {k: _finite(v) for k, v in record.items()}])

    def cancelled(self, state: TrainState | None = None) -> bool:
        return TrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists()

    def check_cancel(self) -> None:
        if self.cancelled():
            raise RunCancelled

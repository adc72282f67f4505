"""The API's Face model endpoints (staff only, as the page): the versions, retraining runs
and model switches, and the page's buttons, through the same services (runs.py,
switching.py). A refusal for the state things are in (a run already open, a switch in
progress) answers 409, as webapp/api.py maps RunRefused and SwitchRefused."""
from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from webapp.core.apikit import ApiError, JobOut, job_out, not_found, responses
from webapp.faces.models import EmbeddingModel
from webapp.faces.selectors import embedding_model_active
from webapp.training import selectors
from webapp.training.models import ModelSwitch, TrainingRun
from webapp.training.runs import training_cancel, training_discard, training_start
from webapp.training.switching import embeddings_cleanup, switch_start

router = Router(tags=["face model (staff)"])


class VersionOut(Schema):
    id: int
    version: int
    name: str
    checkpoint: str
    active: bool
    same_person_threshold: float
    activated_at: datetime | None = Field(description="when it last became the active version; null if never")
    faces: int = Field(description="faces embedded with it now")
    kept: int = Field(description="vectors of it kept for a quick roll back")
    can_promote: bool
    can_roll_back: bool


class RunOut(JobOut):
    id: int
    base_version: int
    result_version: int | None = Field(description="the candidate version it made, once finished")
    loss: float | None
    recommend_promote: bool | None = Field(description="whether the held-out comparison favours the candidate")
    metrics: dict = Field(description="old against new on held-out people and celeba5 val")


class SwitchOut(JobOut):
    id: int
    kind: str = Field(description="promote or rollback")
    target_version: int
    previous_version: int


class ModelOut(Schema):
    active: VersionOut
    versions: list[VersionOut]
    runs: list[RunOut] = Field(description="the latest runs, newest first")
    open_run: RunOut | None
    switch: SwitchOut | None = Field(description="the latest model switch")


class RunIn(Schema):
    owner_ids: list[int] | None = Field(None, description="the users whose confirmed names it learns from; all when left out")


class CleanedOut(Schema):
    deleted: int


def _staff(request) -> None:
    if not request.user.is_staff:
        raise ApiError("The face model is for staff.", status=403)


def _version_out(entry: dict) -> dict:
    model = entry["model"]
    return {"id": model.pk, "version": model.version, "name": model.name, "checkpoint": model.checkpoint,
            "active": model.is_active, "same_person_threshold": model.same_person_threshold,
            "activated_at": model.activated_at, "faces": entry["faces"], "kept": entry["kept"],
            "can_promote": entry["can_promote"], "can_roll_back": entry["can_roll_back"]}


def _run_out(run: TrainingRun) -> dict:
    return {**job_out(run), "id": run.pk, "base_version": run.base_model.version,
            "result_version": run.result_model.version if run.result_model else None, "loss": run.loss,
            "recommend_promote": run.recommend_promote, "metrics": run.metrics}


def _switch_out(switch: ModelSwitch) -> dict:
    return {**job_out(switch), "id": switch.pk, "kind": switch.kind, "target_version": switch.target.version,
            "previous_version": switch.previous.version}


def _run(run_id: int) -> TrainingRun:
    run = TrainingRun.objects.select_related("base_model", "result_model").filter(pk=run_id).first()
    if run is None:
        raise not_found("run", run_id)
    return run


@router.get("/model", response=responses(ModelOut), url_name="model")
def model_state(request: HttpRequest):
    """The Face model page: the active version, every version with what may be done with
    it, the latest retraining runs and the latest switch of versions."""
    _staff(request)
    versions = [_version_out(entry) for entry in selectors.model_versions()]
    active = embedding_model_active()
    run, switch = selectors.training_run_open(), selectors.model_switch_latest()
    return {"active": next(v for v in versions if v["id"] == active.pk), "versions": versions,
            "runs": [_run_out(r) for r in selectors.training_runs()],
            "open_run": _run_out(run) if run else None, "switch": _switch_out(switch) if switch else None}


@router.post("/model/runs", response=responses(RunOut, 202, 409), url_name="model-run-start")
def run_start(request: HttpRequest, body: RunIn):
    """Retrain the network on the libraries' confirmed names, in the background (one run
    at a time); the finished run's candidate version waits to be promoted or discarded."""
    _staff(request)
    run = training_start(user=request.user, owner_ids=body.owner_ids)
    return Status(202, _run_out(_run(run.pk)))


@router.get("/model/runs/{int:run_id}", response=responses(RunOut), url_name="model-run")
def run_get(request: HttpRequest, run_id: int):
    """One retraining run: its progress, then old against new on held-out people."""
    _staff(request)
    return _run_out(_run(run_id))


@router.post("/model/runs/{int:run_id}/cancel", response=responses(RunOut, 200, 409), url_name="model-run-cancel")
def run_cancel(request: HttpRequest, run_id: int):
    """Stop a queued or running run (a running one stops at its next step)."""
    _staff(request)
    training_cancel(run_id=_run(run_id).pk)
    return _run_out(_run(run_id))


@router.post("/model/runs/{int:run_id}/discard", response=responses(RunOut, 200, 409), url_name="model-run-discard")
def run_discard(request: HttpRequest, run_id: int):
    """Drop a finished run's candidate version."""
    _staff(request)
    training_discard(run_id=_run(run_id).pk)
    return _run_out(_run(run_id))


def _switch(request, model_id: int, kind: str):
    _staff(request)
    if not EmbeddingModel.objects.filter(pk=model_id).exists():
        raise not_found("model version", model_id)
    switch_start(target_id=model_id, user=request.user, kind=kind)
    return Status(202, _switch_out(selectors.model_switch_latest()))


@router.post("/model/versions/{int:model_id}/promote", response=responses(SwitchOut, 202, 409), url_name="model-promote")
def version_promote(request: HttpRequest, model_id: int):
    """Make a candidate version the active one: every face is re-embedded in the
    background while search keeps using the current version."""
    return _switch(request, model_id, ModelSwitch.Kind.PROMOTE)


@router.post("/model/versions/{int:model_id}/rollback", response=responses(SwitchOut, 202, 409), url_name="model-rollback")
def version_rollback(request: HttpRequest, model_id: int):
    """Go back to an earlier version (immediate for the faces whose vectors of it were kept)."""
    return _switch(request, model_id, ModelSwitch.Kind.ROLLBACK)


@router.post("/model/embeddings/cleanup", response=responses(CleanedOut, 200, 409), url_name="model-cleanup")
def cleanup(request: HttpRequest):
    """Delete the vectors kept for other versions (a roll back then re-embeds every face)."""
    _staff(request)
    return {"deleted": embeddings_cleanup()}

"""The Face model page through the API (webapp/training/api.py): staff only, the versions
and runs as the page shows them, its buttons through the same services, and a refusal for
the state things are in answered 409 with the page's reason."""
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from webapp.faces.models import EmbeddingModel
from webapp.faces.selectors import embedding_model_active
from webapp.training.models import ModelSwitch, TrainingRun

pytestmark = pytest.mark.django_db

STAFF_ENDPOINTS = [("get", "api:model", {}), ("post", "api:model-run-start", {}), ("get", "api:model-run", {"run_id": 1}),
                   ("post", "api:model-run-cancel", {"run_id": 1}), ("post", "api:model-run-discard", {"run_id": 1}),
                   ("post", "api:model-promote", {"model_id": 1}), ("post", "api:model-rollback", {"model_id": 1}),
                   ("post", "api:model-cleanup", {})]


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_every_endpoint_is_forbidden_to_non_staff(user):
    client = Client()
    client.force_login(user)
    run = TrainingRun.objects.create(base_model=embedding_model_active())
    for method, name, kwargs in STAFF_ENDPOINTS:
        kwargs = {k: run.pk if k == "run_id" else v for k, v in kwargs.items()}
        answer = getattr(client, method)(reverse(name, kwargs=kwargs), {}, content_type="application/json")
        assert answer.status_code == 403 and answer.json() == {"error": "The face model is for staff."}, name
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.QUEUED and not ModelSwitch.objects.exists()


def test_staff_sees_the_versions_as_the_page_does(staff_client):
    answer = staff_client.get(reverse("api:model")).json()
    active = embedding_model_active()
    assert answer["active"]["version"] == active.version and answer["active"]["active"]
    versions = {v["version"]: v for v in answer["versions"]}
    assert set(versions) == set(EmbeddingModel.objects.values_list("version", flat=True))
    others = [v for v in versions.values() if not v["active"]]
    assert others and all(v["can_promote"] != v["can_roll_back"] for v in others)
    assert answer["open_run"] is None and answer["runs"] == []


def test_starting_without_enough_data_is_409_with_the_reason(staff_client):
    answer = staff_client.post(reverse("api:model-run-start"), {}, content_type="application/json")
    assert answer.status_code == 409 and "Too little data" in answer.json()["error"]
    empty = staff_client.post(reverse("api:model-run-start"), {"owner_ids": []}, content_type="application/json")
    assert empty.status_code == 409 and "Choose at least one library" in empty.json()["error"]
    assert not TrainingRun.objects.exists()


def test_a_run_is_shown_cancelled_and_a_second_cancel_refused(staff_client):
    run = TrainingRun.objects.create(base_model=embedding_model_active(), status=TrainingRun.Status.RUNNING,
                                     progress_done=7, progress_total=10, heartbeat_at=timezone.now())
    shown = staff_client.get(reverse("api:model-run", args=[run.pk])).json()
    assert (shown["status"], shown["percent"]) == ("running", 70)
    assert staff_client.get(reverse("api:model")).json()["open_run"]["id"] == run.pk
    running = staff_client.post(reverse("api:model-run-cancel", args=[run.pk]))
    assert running.status_code == 200 and TrainingRun.objects.get(pk=run.pk).cancel_requested  # stops at its next step
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.QUEUED)
    cancelled = staff_client.post(reverse("api:model-run-cancel", args=[run.pk]))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"  # a queued one ends at once
    again = staff_client.post(reverse("api:model-run-cancel", args=[run.pk]))
    assert again.status_code == 409 and "Only a queued or running run" in again.json()["error"]
    missing = staff_client.get(reverse("api:model-run", args=[10**9]))
    assert missing.status_code == 404


def test_a_roll_back_is_queued_and_a_second_switch_waits(staff_client, django_capture_on_commit_callbacks):
    active = embedding_model_active()
    other = EmbeddingModel.objects.exclude(pk=active.pk).first()
    kind = "rollback" if other.activated_at else "promote"
    url = reverse(f"api:model-{kind}", args=[other.pk])
    with django_capture_on_commit_callbacks(execute=False):
        first = staff_client.post(url)
    assert first.status_code == 202
    switch = first.json()
    assert (switch["kind"], switch["target_version"], switch["previous_version"], switch["status"]) == (
        kind, other.version, active.version, "queued")
    with django_capture_on_commit_callbacks(execute=False):
        second = staff_client.post(url)
    assert second.status_code == 409 and "in progress" in second.json()["error"]
    assert ModelSwitch.objects.count() == 1
    assert staff_client.post(reverse("api:model-cleanup")).status_code == 409  # not during a switch
    assert staff_client.post(reverse(f"api:model-{kind}", args=[10**9])).status_code == 404

"""The migrations match the models, and the job-base migrations keep the rows they change."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


@pytest.mark.django_db
def test_the_models_need_no_new_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits non-zero if one is missing


@pytest.mark.django_db(transaction=True)
def test_the_job_base_migrations_keep_existing_runs_maps_and_switches():
    before = [("people", "0006_grouping_run"), ("training", "0001_initial")]
    after = [("people", "0009_groupingrun_progress_share_removed"), ("training", "0002_jobs_share_one_base")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        owner = old.get_model("auth", "User").objects.create(username="old")
        model = old.get_model("faces", "EmbeddingModel").objects.filter(is_active=True).first()
        old.get_model("people", "GroupingRun").objects.create(owner=owner, method="hdbscan", status="done", progress=0.6, message="3 group(s)")
        old.get_model("people", "GroupingRun").objects.create(owner=owner, method="hdbscan", status="failed", progress=0.1, message="Grouping failed: x")
        mapped_at = timezone.now()
        old.get_model("people", "FaceMap").objects.create(owner=owner, status="done", points=[[1, 0.5, 0.5]], face_count=1, computed_at=mapped_at)
        assert model is not None  # registered by the shipped_model_registered fixture
        old.get_model("training", "TrainingRun").objects.create(base_model=model, status="finished", phase="finished", step=7, total_steps=7)
        old.get_model("training", "ModelSwitch").objects.create(kind="promote", target=model, previous=model, status="done", faces_done=5, faces_total=5)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        runs = new.get_model("people", "GroupingRun").objects.order_by("pk")
        assert [(r.status, r.progress_done, r.progress_total, r.message, r.error) for r in runs] == [
            ("done", 60, 100, "3 group(s)", ""), ("failed", 10, 100, "Grouping failed: x", "Grouping failed: x")]
        face_map = new.get_model("people", "FaceMap").objects.get()
        assert (face_map.status, face_map.points, face_map.finished_at) == ("done", [[1, 0.5, 0.5]], mapped_at)
        run = new.get_model("training", "TrainingRun").objects.get()
        assert (run.message, run.progress_done, run.progress_total) == ("finished", 7, 7)
        switch = new.get_model("training", "ModelSwitch").objects.get()
        assert (switch.progress_done, switch.progress_total) == (5, 5)
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

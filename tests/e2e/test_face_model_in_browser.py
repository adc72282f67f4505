"""The staff "Face model" page in headless Chromium: start a retraining run on the
confirmed names, read its figures and recommendation, promote the new version (every face
re-embedded) and switch back. Tasks run in-process (eager), so each click waits for its job."""
from __future__ import annotations

import pytest

from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, screenshot, sign_in
from tests.webapp.training.conftest import confirmed_library, use_small_runs
from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active
from webapp.training.models import TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_runs(settings, training_cache_dir, media_root):
    use_small_runs(settings, training_cache_dir)


def test_staff_retrains_promotes_and_switches_back(page, live_server, faces_data_dir, small_runs):
    staff = make_user("admin", password=PASSWORD, is_staff=True)
    named = confirmed_library(staff, faces_data_dir)
    before = embedding_model_active()

    sign_in(page, live_server, "admin")
    page.click("nav >> text=Face model")
    page.wait_for_selector("[data-testid=training-data]")
    assert f"Active: v{before.version}" in page.inner_text("[data-testid=active-model]")
    row = page.inner_text("[data-testid=training-data] tbody tr:has-text('admin')")
    assert row.split("\t")[1].strip() == str(len(named))  # people with >= 2 confirmed faces
    assert page.is_checked("input[aria-label=\"Use admin's library\"]")

    page.click("text=Start retraining")  # the run happens during this request (eager tasks)
    page.wait_for_selector("[data-testid=recommendation]")
    screenshot(page, "60-face-model-run-finished")
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FINISHED, run.error
    runs = page.inner_text("[data-testid=runs]")
    assert f"Finished → v{run.result_model.version}" in runs
    assert f"{run.data['training_people']} people / {run.data['training_faces']} faces trained" in runs
    assert f"batches of {run.data['batch']['p']} people" in runs
    assert "random halves of the held-out people" in page.inner_text("[data-testid=recommendation]")

    new = run.result_model
    page.click(f"[data-testid=runs] >> text=Promote v{new.version}")
    page.wait_for_selector(f"[data-testid=active-model]:has-text('Active: v{new.version}')")
    screenshot(page, "61-face-model-promoted")
    assert not Face.objects.filter(owner=staff).exclude(embedding_model=new).exists()  # every face re-embedded
    assert f"to v{new.version}" in page.inner_text("[data-testid=switch-progress]")

    page.click(f"text=Switch back to v{before.version}")
    page.wait_for_selector(f"[data-testid=active-model]:has-text('Active: v{before.version}')")
    assert embedding_model_active() == before
    assert not Face.objects.filter(owner=staff).exclude(embedding_model=before).exists()

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
# A run in the request that starts it takes up to a minute on a busy 2-core machine.
RUN_WAIT_MS = 300_000


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

    page.click("text=Start retraining", timeout=RUN_WAIT_MS)  # the run happens during this request (eager tasks)
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


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_staff_switches_to_the_fused_version_and_retrains_its_head(page, live_server, faces_data_dir, small_runs, settings,
                                                                   width, height):
    """The fused version (registered, not active) is one click away in the Versions table;
    after the switch every face carries its vectors, the page names it as the active
    version and says that a run fine-tunes its fusion head; a run does, and its row says so."""
    from webapp.faces.models import EmbeddingModel
    from webapp.faces.registry import FUSED_CHECKPOINT

    page.set_viewport_size({"width": width, "height": height})
    settings.VISAGE_RETRAIN_VAL_PAIRS_EVERY = 30  # 100 val pairs: the run's cost is the backbones on every face
    staff = make_user("admin", password=PASSWORD, is_staff=True)
    confirmed_library(staff, faces_data_dir)
    fused = EmbeddingModel.objects.get(checkpoint=FUSED_CHECKPOINT)
    sign_in(page, live_server, "admin")
    page.goto(live_server.url + "/model/")
    versions = page.inner_text("[data-testid=versions]")
    assert f"v{fused.version} · {fused.name}" in versions

    page.click(f"[data-testid=versions] >> text=Promote v{fused.version}")  # re-embeds every face (eager)
    page.wait_for_selector(f"[data-testid=active-model]:has-text('Active: v{fused.version}')")
    assert embedding_model_active() == fused
    assert not Face.objects.filter(owner=staff).exclude(embedding_model=fused).exists()
    assert fused.name in page.inner_text("[data-testid=active-model]")

    explained = page.locator("[data-testid=retrain-explained]")
    assert f"v{fused.version} joins several frozen networks with a fusion head" in explained.inner_text()
    assert "fine-tunes a copy of the head" in explained.inner_text()
    start = page.locator("button:has-text('Start retraining')")
    start.scroll_into_view_if_needed()
    for box in (explained.bounding_box(), start.bounding_box()):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width  # no sideways scrolling
    assert start.is_enabled()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # wide tables scroll inside their card
    screenshot(page, f"62-face-model-fused-active-{width}")

    start.click(timeout=RUN_WAIT_MS)  # the run happens during this request (eager tasks)
    page.wait_for_selector("[data-testid=recommendation]")
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FINISHED, run.error
    assert run.base_model == fused and run.result_model.architecture == "fused"
    row = page.inner_text(f"[data-testid=runs] tr:has-text('#{run.pk}')")
    assert f"Finished → v{run.result_model.version}" in row and "the fusion head only" in row
    assert page.inner_text("[data-testid=recommendation]").startswith(("Promote", "Keep"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The verdict and its buttons are readable without scrolling sideways (on a phone each
    # run is a card, each figure under its column's name).
    promote = page.locator(f"[data-testid=runs] button:has-text('Promote v{run.result_model.version}')")
    promote.scroll_into_view_if_needed()
    for box in (promote.bounding_box(), page.locator("[data-testid=recommendation]").bounding_box()):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    screenshot(page, f"63-face-model-fused-run-finished-{width}")

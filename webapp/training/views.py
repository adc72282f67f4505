"""The staff-only "Face model" page and the buttons on it. Each action calls one service
and comes back to the page with a message."""
from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ml.faces.checkpoint import FUSED_ARCHITECTURE
from webapp.faces.selectors import embedding_model_active
from webapp.training import selectors
from webapp.training.library import library_stock
from webapp.training.models import ModelSwitch
from webapp.training.runs import RunRefused, training_cancel, training_discard, training_start
from webapp.training.switching import SwitchRefused, embeddings_cleanup, switch_start


def staff_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("The face model page is for staff.")
        return view(request, *args, **kwargs)

    return wrapped


def _jobs_context() -> dict:
    run, switch = selectors.training_run_open(), selectors.model_switch_latest()
    busy = (run is not None and run.is_active) or (switch is not None and switch.is_active)
    return {"open_run": run, "switch": switch, "busy": busy}


@require_GET
@staff_required
def model_page(request):
    active = embedding_model_active()
    return render(request, "training/model.html", {
        "active": active,
        "fused": active.architecture == FUSED_ARCHITECTURE,
        "figures": selectors.model_figures(active),
        "stranger_percent": f"{100 * settings.VISAGE_STRANGER_RATE:g}",
        "stock": library_stock(),
        "runs": selectors.training_runs(),
        "versions": selectors.model_versions(),
        "kept": selectors.kept_embeddings(),
        "job_workers": selectors.job_workers(),
        **_jobs_context(),
    })


@require_GET
@staff_required
def model_jobs(request):
    """The progress box, polled by htmx while a run or a switch is open."""
    return render(request, "training/_jobs.html", _jobs_context())


def _act(request, action, success: str):
    try:
        action()
    except (RunRefused, SwitchRefused) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, success)
    return redirect("model-page")


@require_POST
@staff_required
def run_start(request):
    # The page ticks every library that has data; "all" also takes libraries added later.
    chosen = request.POST.getlist("owner")
    owner_ids = None if "all" in chosen else [int(v) for v in chosen if v.isdigit()]
    return _act(request, lambda: training_start(user=request.user, owner_ids=owner_ids),
                "Retraining queued: progress shows below.")


@require_POST
@staff_required
def run_cancel(request, run_id: int):
    return _act(request, lambda: training_cancel(run_id=run_id), "Cancelling: the run stops at its next step.")


@require_POST
@staff_required
def run_discard(request, run_id: int):
    return _act(request, lambda: training_discard(run_id=run_id), "The candidate version was discarded.")


@require_POST
@staff_required
def version_promote(request, model_id: int):
    return _act(request, lambda: switch_start(target_id=model_id, user=request.user, kind=ModelSwitch.Kind.PROMOTE),
                "Re-embedding every face with the new version; search keeps using the current one until it is done.")


@require_POST
@staff_required
def version_rollback(request, model_id: int):
    return _act(request, lambda: switch_start(target_id=model_id, user=request.user, kind=ModelSwitch.Kind.ROLLBACK),
                "Rolling back: faces without a kept vector of that version are re-embedded first.")


@require_POST
@staff_required
def embeddings_clean(request):
    def clean():
        messages.info(request, f"{embeddings_cleanup()} kept vectors deleted.")

    return _act(request, clean, "Clean-up done.")

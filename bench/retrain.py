"""One retraining run on a library of celeba5 test people, measured before and after.

    .venv/bin/python -u bench/retrain.py [--confirmed 3] [--checkpoint dlib_resnet_v1_mirror.pt]

Imports celeba5/test (928 people x 5 photos) as one user's library (database
visage_bench_retrain) embedded with the model to retrain (``--checkpoint``: a registered
model's file in models/; default the active one, on a new database the mirror-averaged
``dlib_resnet_v1_mirror.pt``), marks the first ``--confirmed`` faces of every person as
confirmed under the person's name (written directly: this measures training, not the
naming pages), then runs the retraining service exactly as the "Face model" page's task
does, in this process, with the app's default run settings. Prints the held-out people's
VAL at FAR=1e-3, verification accuracy and grouping F1 before and after, celeba5 val
accuracy before and after, the recommendation and the run's wall time. Re-running resumes
an interrupted run (cached crops, last.pt) instead of starting another. With
``--checkpoint fused_dlib_fr_feature.pt`` the run fine-tunes the fused version's head
(webapp/training/head_retrain.py; it resumes from its cached features).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchdb import bench_model_use, celeba_test_library, use_bench_database  # noqa: E402

use_bench_database("visage_bench_retrain")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from webapp.faces.models import Face  # noqa: E402
from webapp.faces.selectors import embedding_model_active  # noqa: E402
from webapp.people.models import Person  # noqa: E402
from webapp.training.models import TrainingRun  # noqa: E402
from webapp.training.runs import training_start  # noqa: E402
from webapp.training.tasks import training_execute  # noqa: E402
from workers.celery_app import app  # noqa: E402


def confirm_first_faces(owner, per_person: int) -> tuple[int, int]:
    """Every person's first ``per_person`` photos' faces confirmed under the person's name."""
    Face.objects.filter(owner=owner).update(person=None, person_state="", person_confidence=None)
    Person.objects.filter(owner=owner).delete()
    by_person: dict[str, list[int]] = {}
    rows = Face.objects.filter(owner=owner).values_list("pk", "photo__original_name").order_by("photo__original_name", "pk")
    for pk, name in rows:
        by_person.setdefault(Path(name).name.split("_")[0], []).append(pk)
    confirmed = 0
    for name, face_ids in by_person.items():
        person = Person.objects.create(owner=owner, name=name)
        confirmed += Face.objects.filter(pk__in=face_ids[:per_person]).update(person=person, person_state=Face.PersonState.CONFIRMED)
    return len(by_person), confirmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--confirmed", type=int, default=3, help="confirmed faces per person")
    parser.add_argument("--checkpoint", help="the registered model to retrain, by its file in models/ (default: the active one); "
                        "the library is re-embedded with it first")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    settings.VISAGE_AUTO_GROUP = False
    owner, _ = get_user_model().objects.get_or_create(username="bench-retrain", defaults={"is_staff": True})
    if args.checkpoint:  # before the import, so a new database embeds the library with it once
        bench_model_use(args.checkpoint, owner=owner)
    celeba_test_library(owner)
    base = embedding_model_active()
    print(f"retraining v{base.version} ({base.checkpoint})", flush=True)
    app.conf.task_always_eager = True  # the page's task, run in this process
    started = time.perf_counter()
    run = TrainingRun.objects.filter(status__in=TrainingRun.OPEN).first()
    if run is None:
        people, confirmed = confirm_first_faces(owner, args.confirmed)
        print(f"library: {Face.objects.filter(owner=owner).count()} faces of {people} people, {confirmed} confirmed", flush=True)
        started = time.perf_counter()
        run = training_start(user=owner, owner_ids=[owner.pk])
    else:
        print(f"resuming run #{run.pk}", flush=True)
        TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=None)
        training_execute.apply(args=[run.pk], throw=True)
    wall = time.perf_counter() - started
    run.refresh_from_db()
    print(f"run #{run.pk}: {run.status} in {wall:.0f} s wall ({run.progress_total} steps)", flush=True)
    if run.error:
        print(run.error)
        return
    print(json.dumps(run.data))
    for side in ("old", "new"):
        m = run.metrics[side]
        h, v = m["heldout"], m["celeba_val"]
        print(f"{side}: held-out people VAL@FAR=1e-3 {h['val']:.4f}, accuracy {h['accuracy']:.4f} ± {h['accuracy_std']:.4f}, "
              f"AUC {h['auc']:.4f}, grouping F1 {h['grouping_f1']:.4f} (precision {h['grouping_precision']:.3f}, "
              f"recall {h['grouping_recall']:.3f}); celeba5 val accuracy {v['accuracy']:.4f}, VAL {v['val']:.4f}, "
              f"threshold {m['threshold']:.4f}")
    print(run.recommendation)


if __name__ == "__main__":
    main()

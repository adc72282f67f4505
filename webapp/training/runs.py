"""Retraining runs: start, cancel, discard, and carry one out.

A run fine-tunes a copy of the active network (``ml.learning.train``: triplet loss, online
semi-hard mining, P x K batches) on the confirmed people of the chosen libraries, mixed
with the first VISAGE_RETRAIN_BASE_IMAGES images of celeba5 train so it does not forget,
holds out about 20 % of the people, and compares old and new (``ml.evaluation.model_compare``) on
those people and on celeba5 val pairs. It ends as a new, inactive EmbeddingModel with a
recommendation; promoting it is a switch (see switching.py).

Everything a run writes goes to VISAGE_TRAINING_DIR/run_<id>/ first: a redelivered task
(worker restart) picks up the cached crops and resumes training from last.pt."""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ml.faces.align import AlignmentTemplate
from ml.faces.checkpoint import file_sha256, load_checkpoint, read_checkpoint
from ml.learning.export import export
from ml.learning.facecache import build_cache, write_cache
from ml.evaluation.model_compare import (
    TooLittleData, grouping_scores, halves_won, people_split, recommend, verification_scores, whole_people_upto,
)
from ml.learning.train import PairsValidator, embed_crops, parse_args, pick_device, train
from ml.evaluation.verification import read_pairs
from webapp.core.jobs import JobHeartbeat, lock_table
from webapp.faces.crops import face_crops
from webapp.faces.models import EmbeddingModel
from webapp.faces.registry import checkpoint_file_fields
from webapp.faces.runtime import STORED_PREFIX, checkpoint_path, torch_threads
from webapp.faces.selectors import embedding_model_active
from webapp.training.library import confirmed_faces
from webapp.training.models import ModelSwitch, TrainingRun

# The recipe of models/facenet_v2.pt (docs/model.md): the blocks before conv256_1 stay
# frozen and their outputs are cached once per face, so a step costs only the tail.
# alpha 0.05 suits the pretrained net's small distances; the lr is relative per tensor.
FEATURE_BLOCK = "conv256_1"
RECIPE = ["--alpha", "0.05", "--relative-lr", "--warmup", "10", "--mining", "semihard"]
MAX_K = 4

logger = logging.getLogger(__name__)


class RunRefused(ValueError):
    pass


class RunCancelled(Exception):
    pass


def base_set_problem() -> str | None:
    """Why a run cannot mix in celeba5 (checked on the web host when a run starts and
    again on the gpu host that runs it: FACES_DATA_DIR may differ between them)."""
    celeba = Path(settings.FACES_DATA_DIR) / "celeba5"
    if (celeba / "train").is_dir() and (celeba / "pairs_val.txt").is_file():
        return None
    return (f"The base training set is missing: no celeba5 train images or val pairs under {settings.FACES_DATA_DIR} "
            "(set FACES_DATA_DIR on the web and gpu hosts).")


def training_start(*, user, owner_ids: list[int] | None) -> TrainingRun:
    """Queue a run on the gpu queue; refused with a clear message when one is open or
    the chosen libraries have too few people."""
    from workers.dispatch import send_quietly
    from workers.training_tasks import training_run_task  # workers import this module

    if owner_ids is not None and not owner_ids:
        raise RunRefused("Choose at least one library to learn from.")
    if problem := base_set_problem():
        raise RunRefused(problem)
    with transaction.atomic():
        lock_table(TrainingRun)
        running = TrainingRun.objects.filter(status__in=TrainingRun.OPEN).first()
        if running is not None and running.fail_if_stale():
            transaction.on_commit(lambda: _remove_run_dir(running.pk))
        elif running is not None:
            raise RunRefused(f"Run #{running.pk} is {running.get_status_display().lower()}: one run at a time.")
        people = confirmed_faces(owner_ids=owner_ids).values("person_id").distinct().count()
        try:
            people_split(range(people))
        except TooLittleData as exc:
            raise RunRefused(f"Too little data: {exc}. Confirm more faces on the People pages first.") from exc
        run = TrainingRun.objects.create(
            created_by=user, owner_ids=owner_ids, base_model=embedding_model_active(),
            message="waiting for a worker on the gpu queue",
        )
        transaction.on_commit(lambda: send_quietly(training_run_task, args=[run.pk]))
    return run


def training_cancel(*, run_id: int) -> TrainingRun:
    """A queued run, or one whose worker died, ends at once; a running one stops at its
    next step and cleans up."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or not run.is_open:
            raise RunRefused("Only a queued or running run can be cancelled.")
        if run.status == TrainingRun.Status.QUEUED or run.is_stale:
            run.status, run.finished_at, run.message = TrainingRun.Status.CANCELLED, timezone.now(), "cancelled"
        run.cancel_requested = True
        run.save()
    if run.status == TrainingRun.Status.CANCELLED:
        _remove_run_dir(run.pk)
    return run


def training_discard(*, run_id: int) -> TrainingRun:
    """Drop a finished run's candidate version (row and stored checkpoint)."""
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != TrainingRun.Status.FINISHED:
            raise RunRefused("Only a finished run that was not promoted can be discarded.")
        model = run.result_model
        if ModelSwitch.objects.filter(target=model, status__in=ModelSwitch.OPEN).exists():
            raise RunRefused(f"v{model.version} is being promoted; wait until the switch is done.")
        run.status, run.result_model = TrainingRun.Status.DISCARDED, None
        run.save(update_fields=["status", "result_model"])
        stored = model.checkpoint.removeprefix(STORED_PREFIX)
        ModelSwitch.objects.filter(target=model).delete()  # failed attempts to promote it
        model.delete()
        transaction.on_commit(lambda: default_storage.delete(stored))
    return run


def run_dir(run_id: int) -> Path:
    return Path(settings.VISAGE_TRAINING_DIR) / f"run_{run_id}"


def run_data(run_id: int) -> dict:
    return TrainingRun.objects.values_list("data", flat=True).get(pk=run_id) or {}


def _remove_run_dir(run_id: int) -> None:
    shutil.rmtree(run_dir(run_id), ignore_errors=True)


@dataclass
class LibraryData:
    """Aligned crops of the confirmed faces: labels are person ids."""

    crops: np.ndarray
    labels: np.ndarray
    face_ids: np.ndarray
    photo_ids: np.ndarray
    held_out: np.ndarray  # bool per face


class RunProgress:
    """Writes the phase (the run's message), step, loss, ETA and the heartbeat on the run
    row; raises RunCancelled once the admin has asked to cancel."""

    def __init__(self, run: TrainingRun) -> None:
        self.run = run
        self.run_id = run.pk

    def phase(self, text: str) -> None:
        self.run.report(message=text)
        self.check_cancel()

    def step(self, state: dict, loss: float) -> None:
        step, total = state["step"], state["total_steps"]
        eta = state["seconds"] / max(1, step) * (total - step)
        self.run.report(done=step, total=total, message="training", loss=loss if np.isfinite(loss) else None, eta_seconds=eta)

    def cancelled(self) -> bool:
        return TrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists()

    def check_cancel(self) -> None:
        if self.cancelled():
            raise RunCancelled


def training_execute(*, run: TrainingRun) -> TrainingRun:
    """Carry out a claimed run (see webapp.core.jobs.job_claim) to finished, cancelled or failed."""
    with JobHeartbeat(run):  # beats between progress reports too: evaluating can take minutes
        _carry_out(run, RunProgress(run), run_dir(run.pk))
    run.refresh_from_db()
    return run


def _carry_out(run: TrainingRun, progress: RunProgress, folder: Path) -> None:
    stored_name = None
    try:
        progress.check_cancel()
        library = _library_data(run, folder, progress)
        base_cache, val_cache, every = _celeba_caches(progress)
        new_checkpoint = _fine_tune(run, folder, library, base_cache, progress)
        progress.phase("evaluating old and new model")
        metrics = _compare(run, new_checkpoint, library, val_cache, every)
        progress.check_cancel()
        promote, reason = recommend(old=metrics["old"], new=metrics["new"])
        progress.phase("saving the new version")
        with new_checkpoint.open("rb") as handle:
            stored_name = default_storage.save(f"models/run_{run.pk}_{file_sha256(new_checkpoint)[:12]}.pt", File(handle))
        with transaction.atomic():
            model = _register(run, new_checkpoint, stored_name, metrics["new"])
            TrainingRun.objects.filter(pk=run.pk).update(
                status=TrainingRun.Status.FINISHED, result_model=model, metrics=metrics, recommend_promote=promote,
                recommendation=reason, message="finished", eta_seconds=0, finished_at=timezone.now(),
            )
    except RunCancelled:
        _end(run, TrainingRun.Status.CANCELLED, "cancelled", stored_name)
    except Exception as exc:  # the run row carries the error to the page; nothing is retried
        logger.exception("training run %s failed", run.pk)
        _end(run, TrainingRun.Status.FAILED, "failed", stored_name, error=str(exc) if isinstance(exc, RunRefused)
             else f"{type(exc).__name__}: {exc}")
    else:
        # Keep only the log: the caches and checkpoints are large and the model is stored.
        for path in folder.glob("**/*"):
            if path.is_file() and path.name != "log.jsonl":
                path.unlink()


def _end(run: TrainingRun, status: str, phase: str, stored_name: str | None, error: str = "") -> None:
    """Cancelled or failed: no model row, no stored checkpoint, no run folder is left."""
    if stored_name:
        default_storage.delete(stored_name)
    TrainingRun.objects.filter(pk=run.pk).update(status=status, message=phase, error=error[:4000], finished_at=timezone.now())
    _remove_run_dir(run.pk)


def _library_data(run: TrainingRun, folder: Path, progress: RunProgress) -> LibraryData:
    saved = folder / "library.npz"
    if saved.is_file():  # resumed run: the same faces and split as before
        with np.load(saved) as data:
            return LibraryData(**{key: data[key] for key in LibraryData.__dataclass_fields__})
    progress.phase("collecting the confirmed faces")
    faces = list(
        confirmed_faces(owner_ids=run.owner_ids).select_related("photo")
        .only("id", "person_id", "landmarks", "thumbnail", "photo_id", "photo__file").order_by("photo_id", "id")
    )
    labels = np.array([f.person_id for f in faces], dtype=np.int64)
    try:
        training_people, held_people = people_split(labels, seed=run.pk)
    except TooLittleData as exc:
        raise RunRefused(f"Too little data: {exc}.") from exc
    template = AlignmentTemplate.from_dict(run.base_model.alignment_template)
    crops = np.zeros((len(faces), template.size, template.size, 3), np.uint8)
    for start in range(0, len(faces), 256):
        crops[start : start + 256] = face_crops(faces[start : start + 256], template)
        progress.phase(f"aligning confirmed faces: {min(start + 256, len(faces))} of {len(faces)}")
    library = LibraryData(
        crops=crops, labels=labels, face_ids=np.array([f.pk for f in faces]), photo_ids=np.array([f.photo_id for f in faces]),
        held_out=np.isin(labels, held_people),
    )
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / ".library.tmp.npz"
    np.savez(temp, **library.__dict__)
    temp.replace(saved)
    TrainingRun.objects.filter(pk=run.pk).update(data={
        "people": len(set(labels.tolist())), "faces": len(faces),
        "training_people": len(training_people), "training_faces": int((~library.held_out).sum()),
        "heldout_people": len(held_people), "heldout_faces": int(library.held_out.sum()),
    })
    return library


def _celeba_caches(progress: RunProgress):
    """(base train cache, val cache, pair stride), built once and shared by every run."""
    if problem := base_set_problem():
        raise FileNotFoundError(problem)
    celeba = Path(settings.FACES_DATA_DIR) / "celeba5"
    cache_dir = Path(settings.VISAGE_TRAINING_DIR) / "cache"
    images = settings.VISAGE_RETRAIN_BASE_IMAGES
    log = lambda message: progress.phase(f"preparing celeba5: {message}"[:200])  # noqa: E731
    base = build_cache(celeba / "train", cache_dir / f"celeba5_train_{images}.npy", limit=images, log=log)
    every = max(1, settings.VISAGE_RETRAIN_VAL_PAIRS_EVERY)
    needed = {str(p.relative_to(celeba / "val")) for pair in read_pairs(celeba / "pairs_val.txt", celeba / "val")[::every]
              for p in (pair.path_a, pair.path_b)}
    val = build_cache(celeba / "val", cache_dir / f"celeba5_val_every{every}.npy", only=needed, log=log)
    return base, val, every


def batch_shape(*, with_k: int, identities: int, k: int) -> dict:
    """The run's P x K + extra batch: the settings' P and extra, cut down so that a small
    training set still gives at least two batches an epoch (P at most half the identities
    with k faces) and the extra identities exist."""
    p = max(1, min(settings.VISAGE_RETRAIN_BATCH_PEOPLE, with_k // 2))
    extra = max(0, min(settings.VISAGE_RETRAIN_BATCH_EXTRA, identities - p))
    return {"p": p, "k": k, "extra": extra}


def _fine_tune(run: TrainingRun, folder: Path, library: LibraryData, base_cache, progress: RunProgress) -> Path:
    train_mask = ~library.held_out
    lib_paths = [f"lib{person}/{face}" for person, face in zip(library.labels[train_mask], library.face_ids[train_mask])]
    cache_path = folder / "train.npy"
    if not cache_path.is_file():
        progress.phase("writing the training set")
        write_cache(cache_path, parts=[base_cache.crops, library.crops[train_mask]], paths=base_cache.paths + lib_paths,
                    ok=np.concatenate([base_cache.ok, np.ones(len(lib_paths), bool)]), root="")
    _, per_person = np.unique(library.labels[train_mask], return_counts=True)
    k = int(min(MAX_K, per_person.min()))  # every library person can be a P-identity
    _, base_per_person = np.unique(base_cache.labels[base_cache.ok], return_counts=True)
    batch = batch_shape(with_k=len(per_person) + int((base_per_person >= k).sum()),
                        identities=len(per_person) + len(base_per_person), k=k)
    epochs = settings.VISAGE_RETRAIN_EPOCHS
    argv = [
        "--out", str(folder / "train"), "--train-cache", str(cache_path), "--init", str(checkpoint_path(run.base_model)),
        "--feature-cache-at", FEATURE_BLOCK, *RECIPE, "--lr", str(settings.VISAGE_RETRAIN_LR),
        "--p", str(batch["p"]), "--k", str(k), "--extra", str(batch["extra"]), "--epochs", str(epochs),
        "--seed", str(run.pk), "--threads", str(torch_threads()), "--print-every", "1",
    ]
    if settings.VISAGE_RETRAIN_MAX_STEPS:
        argv += ["--steps-per-epoch", str(max(1, -(-settings.VISAGE_RETRAIN_MAX_STEPS // epochs)))]
    data = {**run_data(run.pk), "epochs": epochs, "batch": batch}
    last = folder / "train" / "last.pt"
    if last.is_file():  # a worker died mid-run: go on from its last checkpoint
        data["resumed_from_step"] = int(read_checkpoint(last)["train_state"]["step"])
    TrainingRun.objects.filter(pk=run.pk).update(data=data)
    progress.phase("training")
    state = train(parse_args(argv), on_progress=progress.step, should_stop=progress.cancelled)
    if state.get("stopped"):
        raise RunCancelled
    exported = folder / "model.pt"
    export(folder / "train" / "last.pt", exported)
    return exported


def _compare(run: TrainingRun, new_checkpoint: Path, library: LibraryData, val_cache, every: int) -> dict:
    """{"old": ..., "new": ...}: each {"heldout": {...}, "celeba_val": {...}, "threshold"}."""
    device = pick_device(None)
    celeba = Path(settings.FACES_DATA_DIR) / "celeba5"
    validator = PairsValidator(val_cache, celeba / "pairs_val.txt", every=every)
    held = np.flatnonzero(library.held_out)
    held = held[whole_people_upto(library.labels[held], seed=run.pk)]
    results, held_embeddings = {}, {}
    for key, path in (("old", checkpoint_path(run.base_model)), ("new", new_checkpoint)):
        model, config, _ = load_checkpoint(path, device=device)
        mirror = bool(config.get("mirror_average"))  # embed as the app will (ml.faces.embed.Embedder)
        celeba_val = validator(lambda rows: embed_crops(model, val_cache.crops[rows], device, mirror_average=mirror))
        # The old model keeps the threshold it was calibrated with; the new one gets its
        # own from celeba5 val, as every shipped model did.
        threshold = run.base_model.same_person_threshold if key == "old" else celeba_val["val_threshold"]
        embeddings = held_embeddings[key] = embed_crops(model, library.crops[held], device, mirror_average=mirror)
        heldout = verification_scores(embeddings, library.labels[held], seed=run.pk)
        grouping = grouping_scores(embeddings, library.labels[held], library.photo_ids[held], threshold=threshold)
        heldout.update({f"grouping_{name}": value for name, value in grouping.items()})
        results[key] = {"threshold": threshold, "heldout": heldout,
                        "celeba_val": {"accuracy": celeba_val["val_accuracy"], "accuracy_std": celeba_val["val_accuracy_std"],
                                       "val": celeba_val["val_at_far_1e-3"], "auc": celeba_val["val_auc"],
                                       "pairs": int(len(validator.same))}}
    results["new"]["heldout"]["halves_won"] = halves_won(
        held_embeddings["old"], held_embeddings["new"], library.labels[held], library.photo_ids[held],
        thresholds=(results["old"]["threshold"], results["new"]["threshold"]), seed=run.pk)
    return results


def _register(run: TrainingRun, checkpoint: Path, stored_name: str, new_metrics: dict) -> EmbeddingModel:
    fields = checkpoint_file_fields(checkpoint, checkpoint=STORED_PREFIX + stored_name)
    fields["same_person_threshold"] = new_metrics["threshold"]
    fields["metrics"] = {**fields["metrics"], "same_person_threshold": new_metrics["threshold"],
                         "heldout": new_metrics["heldout"], "celeba_val": new_metrics["celeba_val"], "training_run": run.pk}
    for _ in range(3):
        version = (EmbeddingModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                return EmbeddingModel.objects.create(
                    version=version, name=f"Retrained from v{run.base_model.version} (run #{run.pk})", is_active=False, **fields
                )
        except IntegrityError:
            continue  # a version number taken meanwhile (another registration)
    raise RuntimeError("could not allocate a model version number")

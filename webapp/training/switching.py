"""Switching the active embedding version (promote a retrained one, or roll back).

Every face is re-embedded with the target version in background batches into
FaceEmbedding, while uploads, search and grouping go on with the current version in
Face.embedding. When no face is left, one transaction archives the current vectors,
swaps the target's in and flips the active flag; faces stored meanwhile are caught inside
that transaction (see ``webapp.faces.services.active_model_lock``). Name suggestions are then
recomputed with the new vectors. The archived vectors make a later rollback immediate for
the faces that existed, until the admin cleans them up."""
from __future__ import annotations

import logging
import time

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from webapp.core.broker import send_on_commit
from webapp.core.jobs import JobHeartbeat, lock_table
from webapp.faces.crops import face_crops_for
from webapp.faces.models import EmbeddingModel, Face, FaceEmbedding
from webapp.faces.runtime import face_pipeline_for
from webapp.faces.selectors import embedding_model_active
from webapp.people.propagation import names_refresh
from webapp.training.models import ModelSwitch, TrainingRun

logger = logging.getLogger(__name__)


class SwitchRefused(ValueError):
    pass


def switch_start(*, target_id: int, user, kind: str) -> ModelSwitch:
    with transaction.atomic():
        lock_table(ModelSwitch)
        running = ModelSwitch.objects.filter(status__in=ModelSwitch.OPEN).first()
        if running is not None and not running.fail_if_stale():  # its staged vectors serve the next switch
            raise SwitchRefused(f"A switch to v{running.target.version} is in progress; wait until it is done.")
        target = EmbeddingModel.objects.filter(pk=target_id).first()
        if target is None:
            raise SwitchRefused("No such model version.")
        active = embedding_model_active()
        if target.pk == active.pk:
            raise SwitchRefused(f"v{target.version} is already the active version.")
        if kind == ModelSwitch.Kind.ROLLBACK and target.activated_at is None:
            raise SwitchRefused(f"v{target.version} was never active: promote it instead of rolling back to it.")
        if kind == ModelSwitch.Kind.PROMOTE and target.activated_at is not None:
            raise SwitchRefused(f"v{target.version} was active before: roll back to it instead.")
        switch = ModelSwitch.objects.create(
            kind=kind, target=target, previous=active, created_by=user, progress_total=Face.objects.count()
        )
        send_on_commit("training.switch_execute", args=[switch.pk])
    return switch


def pending_faces(target: EmbeddingModel) -> QuerySet[Face]:
    """Faces without a vector of ``target`` yet (neither live nor staged)."""
    staged = FaceEmbedding.objects.filter(embedding_model=target).values("face_id")
    return Face.objects.exclude(embedding_model=target).exclude(pk__in=staged)


def switch_reembed_batch(*, switch: ModelSwitch, batch_size: int) -> int:
    """Embed up to ``batch_size`` pending faces with the target; returns how many."""
    faces = list(
        pending_faces(switch.target).select_related("photo").only(
            "id", "landmarks", "thumbnail", "photo_id", "photo__file", "photo__owner_id"
        ).order_by("photo_id", "id")[:batch_size]
    )
    if not faces:
        return 0
    embedder = face_pipeline_for(switch.target).embedder
    vectors = embedder.embed(face_crops_for(faces, embedder))
    FaceEmbedding.objects.bulk_create(
        [FaceEmbedding(face_id=f.pk, embedding_model=switch.target, embedding=v) for f, v in zip(faces, vectors)],
        ignore_conflicts=True,  # a duplicate delivery may have staged some already
    )
    return len(faces)


def switch_execute(*, switch: ModelSwitch, batch_size: int) -> ModelSwitch:
    """Re-embed in batches (progress and ETA on the row), then finish. ``switch`` must be
    claimed by this worker (see webapp.core.jobs.job_claim)."""
    started, done_here = time.monotonic(), 0
    with JobHeartbeat(switch):  # the last transaction (the swap) is one long step
        while count := switch_reembed_batch(switch=switch, batch_size=batch_size):
            done_here += count
            remaining, total = pending_faces(switch.target).count(), Face.objects.count()
            rate = done_here / max(time.monotonic() - started, 1e-6)
            switch.report(done=max(0, total - remaining), total=total, eta_seconds=remaining / rate if rate else None)
        return switch_finish(switch=switch, batch_size=batch_size)


def switch_finish(*, switch: ModelSwitch, batch_size: int) -> ModelSwitch:
    target = switch.target
    now = timezone.now()
    with transaction.atomic():
        # The model rows first: a store of faces in progress holds a share lock on the
        # active row, so this waits for it; stores after this point see the new version.
        previous = embedding_model_active()
        EmbeddingModel.objects.filter(pk=previous.pk).update(is_active=False, activated_at=previous.activated_at or previous.created_at)
        EmbeddingModel.objects.filter(pk=target.pk).update(is_active=True, activated_at=now)
        while switch_reembed_batch(switch=switch, batch_size=batch_size):
            pass  # faces stored between the last batch and the locks above
        with connection.cursor() as cursor:
            params = {"target": target.pk}
            cursor.execute(
                f"""INSERT INTO {FaceEmbedding._meta.db_table} (face_id, embedding_model_id, embedding)
                    SELECT id, embedding_model_id, embedding FROM {Face._meta.db_table}
                    WHERE embedding_model_id <> %(target)s
                    ON CONFLICT (face_id, embedding_model_id) DO UPDATE SET embedding = EXCLUDED.embedding""",
                params,
            )
            cursor.execute(
                f"""UPDATE {Face._meta.db_table} AS f SET embedding = e.embedding, embedding_model_id = e.embedding_model_id
                    FROM {FaceEmbedding._meta.db_table} AS e
                    WHERE e.face_id = f.id AND e.embedding_model_id = %(target)s AND f.embedding_model_id <> %(target)s""",
                params,
            )
            cursor.execute(f"DELETE FROM {FaceEmbedding._meta.db_table} WHERE embedding_model_id = %(target)s", params)
        total = Face.objects.count()
        switch.finish(progress_total=total, progress_done=total, eta_seconds=0)
        if switch.kind == ModelSwitch.Kind.PROMOTE:
            TrainingRun.objects.filter(result_model=target, status=TrainingRun.Status.FINISHED).update(
                status=TrainingRun.Status.PROMOTED
            )
    suggestions_recompute()
    switch.refresh_from_db()
    return switch


def suggestions_recompute() -> None:
    """Name suggestions of every library, from the new vectors."""
    for owner in get_user_model().objects.filter(pk__in=Face.objects.values("owner_id")):
        try:
            with transaction.atomic():
                names_refresh(owner=owner)
        except Exception:  # one library's failure must not leave the others unrefreshed
            logger.exception("recomputing suggestions for user %s failed", owner.pk)


def switch_fail(*, switch_id: int, error: str) -> None:
    """Record the error; the active version and Face rows are untouched (the swap is one
    transaction), so nothing half-switched remains. Staged vectors are kept for a retry."""
    ModelSwitch.objects.get(pk=switch_id).fail(error=error)


def embeddings_cleanup() -> int:
    """Delete the vectors kept for other versions; rolling back then re-embeds everything."""
    with transaction.atomic():
        lock_table(ModelSwitch)
        if ModelSwitch.objects.filter(status__in=ModelSwitch.OPEN).exists():
            raise SwitchRefused("A switch is in progress: clean up after it is done.")
        deleted, _ = FaceEmbedding.objects.all().delete()
    return deleted

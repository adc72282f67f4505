"""Point Django at a throwaway database for a benchmark, before django.setup()."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def faces_copy(raw, rows) -> None:
    """Write synthetic faces fast with COPY: ``rows`` of (photo id, owner id, model id,
    embedding). COPY skips Django's defaults, so every NOT NULL column without a database
    default is written here (the search copy of each vector is written by the table's
    trigger, as for any insert); call ``raw.commit()`` after."""
    import django.utils.timezone

    now = django.utils.timezone.now()
    with raw.cursor() as cursor, cursor.copy(
        "COPY faces_face (photo_id, owner_id, embedding_model_id, box_x0, box_y0, box_x1, box_y1, landmarks,"
        " detection_score, embedding, thumbnail, created_at, person_state, source) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int4", "int8", "float8", "float8", "float8", "float8", "jsonb", "float8", "vector",
                        "bytea", "timestamptz", "text", "text"])
        for photo_id, owner_id, model_id, vector in rows:
            copy.write_row((photo_id, owner_id, model_id, 0.0, 0.0, 10.0, 10.0, "[]", 1.0, vector, b"", now, "", "detected"))


SEARCH_INDEX = "face_search_vector_hnsw"


def search_index_drop(cursor) -> None:
    """Drop the HNSW index that face searches use: a COPY of many faces with it in place
    is far slower than building it afterwards (``search_index_create``)."""
    cursor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")


def search_index_create(cursor, *, memory: str = "1GB") -> None:
    """Build the index ``search_index_drop`` dropped, with the migration's settings."""
    cursor.execute(f"SET maintenance_work_mem = '{memory}'")
    cursor.execute(f"CREATE INDEX {SEARCH_INDEX} ON faces_facesearchvector USING hnsw (embedding vector_cosine_ops)"
                   " WITH (m = 16, ef_construction = 64)")


def old_layout_index(*, create: bool) -> None:
    """Put back (or drop again) the HNSW index on faces_face.embedding that migration faces
    0013 moved to faces_facesearchvector: the layout the baselines measure."""
    from django.db import connection

    with connection.cursor() as cursor:
        if create:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("CREATE INDEX IF NOT EXISTS bench_old_layout ON faces_face USING hnsw (embedding vector_cosine_ops)"
                           " WITH (m = 16, ef_construction = 64)")
        else:
            cursor.execute("DROP INDEX IF EXISTS bench_old_layout")


def use_no_database() -> None:
    """For a bench that reads only the settings, never the database: keep Django from
    starting the embedded server."""
    os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")


def use_bench_database(name: str) -> None:
    """Create ``name`` on the embedded server (or use BENCH_DATABASE_URL) and make it Django's."""
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    else:
        import psycopg

        from webapp.embedded import embedded_database_url

        base = embedded_database_url(Path(os.environ.get("VISAGE_DATA_DIR", ROOT / "var")) / "postgres")
        with psycopg.connect(base, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = base.replace("/postgres?", f"/{name}?")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")


def celeba_test_library(owner) -> None:
    """celeba5/test (928 people x 5 photos) imported into ``owner``'s library with the
    import command, in this process; an interrupted earlier import is completed."""
    import io

    from django.conf import settings
    from django.core.management import call_command

    from webapp.faces.models import Face
    from webapp.photos.models import Photo
    from webapp.faces.tasks import photo_process

    if Face.objects.filter(owner=owner).count() >= 4500:
        return
    folder = Path(settings.FACES_DATA_DIR) / "celeba5" / "test"
    call_command("import_photos", user=owner.get_username(), album="celeba5 test", folder=str(folder),
                 in_process=True, stdout=io.StringIO())
    queued = list(Photo.objects.filter(owner=owner, status=Photo.Status.QUEUED).values_list("pk", flat=True))
    for start in range(0, len(queued), 32):
        photo_process.apply(args=[queued[start : start + 32]], kwargs={"schedule_grouping": False}, throw=True)


def bench_model_use(checkpoint: str, *, owner):
    """Make the registered model whose checkpoint file is ``checkpoint`` (e.g.
    ``dlib_resnet_v1.pt``) the active one of this bench database.

    Found by file, not by version number: numbers are handed out per database (the
    mirror-averaged model is version 2 on a new install, 4 in the database the retraining
    figures were first measured in). With no faces stored yet it is simply made active;
    otherwise the library is re-embedded with it by the Face model page's promotion (or
    rollback) service, run in this process."""
    import time

    from django.conf import settings

    from webapp.faces.models import EmbeddingModel, Face
    from webapp.core.jobs import job_claim
    from webapp.training.models import ModelSwitch
    from webapp.training.switching import switch_execute, switch_start

    target = EmbeddingModel.objects.filter(checkpoint=checkpoint).first()
    if target is None:
        known = ", ".join(f"v{v} {c}" for v, c in EmbeddingModel.objects.order_by("version").values_list("version", "checkpoint"))
        raise SystemExit(f"no registered model has the checkpoint {checkpoint!r}; this database has: {known}")
    if target.is_active:
        return target
    if not Face.objects.exists():
        EmbeddingModel.objects.filter(is_active=True).update(is_active=False)
        EmbeddingModel.objects.filter(pk=target.pk).update(is_active=True)
        return target
    kind = ModelSwitch.Kind.ROLLBACK if target.activated_at else ModelSwitch.Kind.PROMOTE
    start = time.perf_counter()
    switch = switch_start(target_id=target.pk, user=owner, kind=kind)
    switch_execute(switch=job_claim(ModelSwitch, switch.pk)[1], batch_size=settings.VISAGE_REEMBED_BATCH)
    print(f"switched the library to v{target.version} ({checkpoint}) in {time.perf_counter() - start:.0f} s", flush=True)
    return target

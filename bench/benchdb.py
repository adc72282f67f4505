"""Point Django at a throwaway database for a benchmark, before django.setup()."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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

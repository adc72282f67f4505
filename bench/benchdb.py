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

"""`python -m webapp.localstack`: run the whole app on one machine with embedded services.

Starts PostgreSQL with pgvector (unless DATABASE_URL is set) and Redis (unless REDIS_URL
is set) with their data under VISAGE_DATA_DIR, migrates, creates the first admin, then runs
two Celery workers (photos on the gpu and default queues, with beat inside it; the long
jobs on the long queue) and the web server on VISAGE_HOST:VISAGE_PORT (127.0.0.1:8000).
Ctrl-C stops everything.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from webapp.embedded import embedded_database_url, start_redis

BASE_DIR = Path(__file__).resolve().parent.parent


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def main() -> int:
    env = os.environ.copy()
    env.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    data_dir = Path(env.get("VISAGE_DATA_DIR") or BASE_DIR / "var")
    host = env.get("VISAGE_HOST", "127.0.0.1")
    port = env.get("VISAGE_PORT", "8000")

    redis = None
    if not env.get("REDIS_URL"):
        redis = start_redis(data_dir / "redis")
        env["REDIS_URL"] = redis.url
    if not env.get("DATABASE_URL"):
        # This process holds a handle on the embedded server, so it outlives the children.
        env["DATABASE_URL"] = embedded_database_url(data_dir / "postgres")
    python = sys.executable
    manage = str(BASE_DIR / "manage.py")
    children: list[subprocess.Popen] = []

    def stop(*_args) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if redis is not None:
            redis.stop()

    try:
        subprocess.run([python, manage, "migrate", "--noinput"], env=env, check=True)
        subprocess.run([python, manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True)
        subprocess.run([python, manage, "ensure_admin"], env=env, check=True)
        # -B: the photo worker also runs beat (the reconciler's schedule); a single
        # machine needs no separate beat process.
        children.append(subprocess.Popen(
            [python, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "gpu,celery",
             "--pool=solo", "--loglevel=INFO", "-n", "visage-local@%h",
             "-B", "--schedule", str(data_dir / "celerybeat-schedule")],
            env=env, cwd=BASE_DIR,
        ))
        # The long jobs in a process of their own, so an upload is processed while a
        # retraining runs. Prefork: the parent still answers the Face model page's
        # "who is listening" while a child works; two children let a grouping run
        # beside a retraining.
        children.append(subprocess.Popen(
            [python, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", "long",
             "--pool=prefork", "--concurrency=2", "--loglevel=INFO", "-n", "visage-long@%h"],
            env=env, cwd=BASE_DIR,
        ))
        children.append(subprocess.Popen([python, manage, "runserver", f"{host}:{port}", "--noreload"], env=env))
        print(f"\n  Visage is running at http://{host}:{port}/  (Ctrl-C stops it)\n", flush=True)
        signal.signal(signal.SIGTERM, _interrupt)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = [" ".join(map(str, c.args[2:])) for c in children if c.poll() not in (None, 0)]
        if failed:
            print(f"A process stopped unexpectedly: {failed}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())

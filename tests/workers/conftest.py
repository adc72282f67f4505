"""Fixtures for tests with a real Redis and real Celery worker processes on the test
database and the temporary media folder."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.workers.helpers import point_app_at_broker
from webapp.embedded import start_redis

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    params = connection.get_connection_params()
    return f"postgresql://{params['user']}@/{params['dbname']}?host={params['host']}"


class Workers:
    """Starts Celery worker processes on the test database, media folder and Redis."""

    def __init__(self, broker_url: str, media_root: Path, tmp_path: Path) -> None:
        self.broker_url, self.media_root, self.tmp_path = broker_url, media_root, tmp_path
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def start(self, *, beat: bool = False, queues: str = "gpu,long,celery", pool: str = "solo",
              app: str = "workers.celery_app", **env: str) -> subprocess.Popen:
        """``app``: the module holding the Celery app (tests.workers.slow_jobs slows jobs down)."""
        log = self.tmp_path / f"worker{len(self.processes)}.log"
        command = [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queues,
                   f"--pool={pool}", "--without-gossip", "--without-mingle", "--loglevel=INFO",
                   "-n", f"fault{len(self.processes)}@%h"]
        if pool == "prefork":
            command.append("--concurrency=1")
        if beat:
            command += ["-B", "--schedule", str(self.tmp_path / "beat-schedule")]
        environment = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.broker_url,
            "VISAGE_MEDIA_ROOT": str(self.media_root),
            "VISAGE_TORCH_THREADS": "1",
            "VISAGE_AUTO_GROUP": "0",
            **env,
        }
        with log.open("w") as handle:
            process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=handle, stderr=subprocess.STDOUT)
        self.processes.append((process, log))
        return process

    def log(self, index: int) -> str:
        return self.processes[index][1].read_text()

    def check_alive(self, process: subprocess.Popen) -> None:
        log = next(path for p, path in self.processes if p is process)
        assert process.poll() is None, log.read_text()[-5000:]

    def stop_all(self) -> None:
        for process, _ in self.processes:
            if process.poll() is None:
                process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def redis_server(tmp_path):
    handle = start_redis(tmp_path / "redis")
    yield handle
    handle.stop()


@pytest.fixture
def workers(redis_server, media_root, eager_celery, tmp_path):
    """Worker processes plus this process's Celery app sending to the test Redis."""
    pool = Workers(redis_server.url, media_root, tmp_path)
    point_app_at_broker(eager_celery, redis_server.url)
    eager_celery.conf.task_always_eager = False
    yield pool
    pool.stop_all()
    point_app_at_broker(eager_celery, settings.CELERY_BROKER_URL)

"""docker-compose.yml must validate with Debian's docker-compose (no engine needed)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_program

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def docker_compose() -> str:
    return require_program("docker-compose")


def compose_config(docker_compose: str, workdir: Path, env_lines: list[str]) -> subprocess.CompletedProcess:
    shutil.copy(ROOT / "docker-compose.yml", workdir / "docker-compose.yml")
    (workdir / ".env").write_text("\n".join(env_lines) + "\n")
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "VISAGE_"))}
    return subprocess.run(
        [docker_compose, "-f", str(workdir / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, env=clean_env, cwd=workdir,
    )


def test_compose_file_validates_with_the_example_env(docker_compose, tmp_path):
    example = [line for line in (ROOT / ".env.example").read_text().splitlines() if line and not line.startswith("#")]
    result = compose_config(docker_compose, tmp_path, example)
    assert result.returncode == 0, result.stderr


def test_compose_file_refuses_to_start_without_a_database_password(docker_compose, tmp_path):
    result = compose_config(docker_compose, tmp_path, ["VISAGE_SECRET_KEY=x"])
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_compose_services_match_the_design():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker-gpu", "worker-long", "worker", "beat", "db", "redis"}
    assert " beat " in services["beat"]["command"]
    # Each queue has its own workers: a retraining on `long` never holds up photos on `gpu`.
    queues = {name: services[name]["command"].split(" -Q ")[1].split()[0] for name in ("worker-gpu", "worker-long", "worker")}
    assert queues == {"worker-gpu": "gpu", "worker-long": "long", "worker": "celery"}
    for name in ("worker-gpu", "worker-long"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["capabilities"] == ["gpu"], name
    # The long worker answers `inspect` while busy (the Face model page tells busy from absent).
    assert "--pool=prefork" in services["worker-long"]["command"]
    assert "long@$$HOSTNAME" in services["worker-long"]["healthcheck"]["test"]
    assert services["db"]["image"].startswith("pgvector/pgvector")
    assert all("healthcheck" in service for service in services.values())
    assert {"media", "pgdata"} <= set(compose["volumes"])


def production_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("VISAGE_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def test_production_settings_pass_the_deploy_check():
    env = {
        **production_env(),
        "VISAGE_DEV": "0",
        "VISAGE_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-the-check-" + "y" * 10,
        "VISAGE_ALLOWED_HOSTS": "photos.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**production_env(), "VISAGE_DEV": "0"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0 and "VISAGE_SECRET_KEY must be set" in result.stderr


def test_gpu_workers_scale_out_and_share_the_bucket(docker_compose, tmp_path):
    """Replicas of worker-gpu on any host must not clash and must all see the same photos."""
    example = [line for line in (ROOT / ".env.example").read_text().splitlines() if line and not line.startswith("#")]
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("\n".join(example + [
        "VISAGE_STORAGE=s3", "VISAGE_S3_BUCKET=visage-photos", "VISAGE_S3_ENDPOINT_URL=https://minio.internal:9000",
        "AWS_ACCESS_KEY_ID=key", "AWS_SECRET_ACCESS_KEY=secret", "VISAGE_DB_HOST=10.0.0.5", "VISAGE_REDIS_HOST=10.0.0.5",
        "VISAGE_GPU_ID=1",
    ]) + "\n")
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "VISAGE_", "AWS_", "REDIS_"))}
    result = subprocess.run([docker_compose, "config"], capture_output=True, text=True, env=clean_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]

    gpu = services["worker-gpu"]
    assert "container_name" not in gpu and "ports" not in gpu  # `--scale worker-gpu=N` works
    assert "-n gpu@%h" in gpu["command"]  # one Celery node name per container
    # Replicas share their project's GPU; a host with several runs one project per GPU.
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == ["1"]
    for name in ("web", "worker-gpu", "worker-long", "worker"):
        env = services[name]["environment"]
        assert env["VISAGE_STORAGE"] == "s3" and env["VISAGE_S3_BUCKET"] == "visage-photos"
        assert env["VISAGE_S3_ENDPOINT_URL"] == "https://minio.internal:9000"
        assert env["AWS_ACCESS_KEY_ID"] == "key" and env["VISAGE_S3_DEFAULT_ACL"] == "private"
        assert env["DATABASE_URL"].endswith("@10.0.0.5:5432/visage")
        assert env["REDIS_URL"] == "redis://:change-me-too@10.0.0.5:6379/0"
    # Services that listen are published on loopback unless a private address is chosen.
    for name in ("db", "redis", "web"):
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"]), name


def test_every_routed_queue_has_a_worker_in_the_compose_file():
    from django.conf import settings

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    consumed = {
        queue for service in compose["services"].values() if " worker " in service.get("command", "")
        for queue in service["command"].split(" -Q ")[1].split()[0].split(",")
    }
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {"celery"}
    assert routed == consumed == {"gpu", "long", "celery"}

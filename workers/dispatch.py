"""Sending tasks from places that must not fail when the broker is down."""
from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def send_quietly(task, *, args: list, countdown: float | None = None) -> bool:
    """Queue ``task``; if Redis is unreachable, log it and return False instead of raising.

    Callers keep their state such that a later send (the reconciler, the next upload)
    picks the work up again, so an outage never loses anything."""
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception:  # kombu raises several types when the broker is unreachable
        logger.exception("could not queue %s%s", task.name, args)
        return False
    return True

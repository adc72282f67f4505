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


def queue_backlog(task) -> int | None:
    """Messages waiting in the queue ``task`` is routed to, not counting those a worker
    holds; None when the broker is unreachable. Always 0 when tasks run eagerly."""
    app = task.app
    if app.conf.task_always_eager:
        return 0
    queue = app.amqp.router.route({}, task.name)["queue"]
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)
            # Not passive: Redis keeps no key for an empty queue, so a passive declare of
            # a drained queue fails; declaring it as the workers do changes nothing.
            return queue(connection.default_channel).queue_declare().message_count
    except Exception:  # as in send_quietly: the broker is down or refuses
        logger.exception("could not read the length of queue %s", queue.name)
        return None

"""The one door from the web app to the broker: queueing tasks by name, and asking how
long a queue is and who serves it.

Services queue work by task name (the ``name=`` of a ``@shared_task`` in an app's
tasks.py), never by importing the task: a service and the task that calls it would
import each other, and an app would import a higher app just to queue its work. The
Celery app is the one workers/celery_app.py makes current; Django loads it at start-up
(workers/apps.py), so every process (web server, management command, test) sends
through the configured broker."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def _task(name: str):
    """The registered task ``name``; a name no app registers raises KeyError, loudly, so
    a typo never becomes a message no worker knows."""
    app = current_app
    if name not in app.tasks:
        # Outside a worker nothing has imported the apps' tasks modules yet (a worker's
        # autodiscovery runs as it starts): import them now, once.
        app.autodiscover_tasks(force=True)
    return app.tasks[name]


def send_quietly(name: str, *, args: list, countdown: float | None = None) -> bool:
    """Queue task ``name`` now; if Redis is unreachable, log it and return False instead
    of raising.

    Callers keep their state such that a later send (the reconciler, the next upload, the
    next worker that starts) picks the work up again, so an outage never loses anything."""
    task = _task(name)
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception:  # kombu raises several types when the broker is unreachable
        logger.exception("could not queue %s%s", name, args)
        return False
    return True


def send_on_commit(name: str, *, args: list, countdown: float | None = None) -> None:
    """``send_quietly`` once the surrounding transaction commits: the worker must find the
    rows the task is about, and a rollback must send nothing."""
    _task(name)  # an unknown name fails here, in the caller, not later in a callback
    transaction.on_commit(lambda: send_quietly(name, args=args, countdown=countdown))


def task_queue(name: str) -> str:
    """The queue task ``name`` is routed to (settings.CELERY_TASK_ROUTES)."""
    return current_app.amqp.router.route({}, name)["queue"].name


def queue_backlog(name: str) -> int | None:
    """Messages waiting in the queue task ``name`` is routed to, not counting those a
    worker holds; None when the broker is unreachable. Always 0 when tasks run eagerly."""
    app = current_app
    if app.conf.task_always_eager:
        return 0
    queue = app.amqp.router.route({}, name)["queue"]
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)
            # Not passive: Redis keeps no key for an empty queue, so a passive declare of
            # a drained queue fails; declaring it as the workers do changes nothing.
            return queue(connection.default_channel).queue_declare().message_count
    except Exception:  # as in send_quietly: the broker is down or refuses
        logger.exception("could not read the length of queue %s", queue.name)
        return None


@dataclass(frozen=True)
class QueueWorkers:
    """The workers that answered on one queue: name -> the tasks each is running (empty:
    idle). ``reachable`` is False when the broker could not be asked at all."""

    queue: str
    reachable: bool
    running: dict[str, list[str]] = field(default_factory=dict)

    @property
    def busy(self) -> dict[str, list[str]]:
        return {name: tasks for name, tasks in self.running.items() if tasks}

    @property
    def idle(self) -> list[str]:
        return sorted(name for name, tasks in self.running.items() if not tasks)


def queue_workers(queue: str, *, timeout: float = 1.0) -> QueueWorkers:
    """Who consumes ``queue`` and what they are running, from the workers' answers to a
    broadcast (``celery inspect active_queues`` and ``active``), waiting ``timeout`` s.

    A worker whose pool is busy still answers when its pool runs tasks in child processes
    (prefork, as the long-job workers run); a solo worker answers only between tasks, so
    callers that know of a job in progress (its heartbeat) say so themselves."""
    app = current_app
    if app.conf.task_always_eager:
        return QueueWorkers(queue, True, {"this process (eager mode)": []})
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=1)
            inspect = app.control.inspect(timeout=timeout, connection=connection)
            queues = inspect.active_queues() or {}
            consumers = [name for name, qs in queues.items() if any(q.get("name") == queue for q in qs)]
            active = (app.control.inspect(destination=consumers, timeout=timeout, connection=connection).active() or {}
                      if consumers else {})
    except Exception:  # broker down or unreachable: the caller says so instead of failing
        logger.warning("could not ask the broker for the workers on queue %s", queue, exc_info=True)
        return QueueWorkers(queue, False)
    return QueueWorkers(queue, True, {
        name: sorted(task.get("name", "?") for task in active.get(name) or []) for name in sorted(consumers)
    })

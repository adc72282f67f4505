"""webapp.core.broker: tasks queued by name, quietly when Redis is down, never to a name
no app registers."""
from __future__ import annotations

import pytest

from tests.workers.helpers import point_app_at_broker
from webapp.core import broker
from webapp.embedded import free_tcp_port


def test_every_task_is_routed_to_its_queue():
    assert {name: broker.task_queue(name) for name in (
        "faces.photo_process", "training.training_execute", "training.switch_execute",
        "people.grouping_run_execute", "people.facemap_compute", "people.grouping_start_when_settled",
        "photos.photos_requeue_stuck",
    )} == {
        "faces.photo_process": "gpu", "training.training_execute": "long", "training.switch_execute": "long",
        "people.grouping_run_execute": "long", "people.facemap_compute": "long",
        "people.grouping_start_when_settled": "celery", "photos.photos_requeue_stuck": "celery",
    }


def test_a_name_no_app_registers_fails_loudly_even_with_the_broker_down(eager_celery):
    with pytest.raises(KeyError):
        broker.send_quietly("people.no_such_task", args=[])
    with pytest.raises(KeyError):
        broker.send_on_commit("people.no_such_task", args=[])


def test_with_the_broker_down_sends_and_questions_answer_instead_of_raising(eager_celery, settings):
    point_app_at_broker(eager_celery, f"redis://127.0.0.1:{free_tcp_port()}/0")  # nothing listens there
    eager_celery.conf.task_always_eager = False
    try:
        sent = broker.send_quietly("photos.photos_requeue_stuck", args=[])
        backlog = broker.queue_backlog("faces.photo_process")
        workers = broker.queue_workers("long", timeout=0.5)
    finally:
        point_app_at_broker(eager_celery, settings.CELERY_BROKER_URL)
        eager_celery.conf.task_always_eager = True
    assert (sent, backlog, workers.reachable, workers.running) == (False, None, False, {})

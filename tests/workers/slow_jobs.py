"""The worker's Celery app with grouping's clustering and the face map's projection each
held up for VISAGE_TEST_SLOW_S seconds, so a test can kill the worker while one of them
runs (`celery -A tests.workers.slow_jobs worker`). Nothing else differs."""
from __future__ import annotations

import os
import time

import django

from workers.celery_app import app

django.setup()  # before the services import their models

from webapp.people import facemap, grouping  # noqa: E402

__all__ = ["app"]


def _slowed(function):
    def slow(*args, **kwargs):
        time.sleep(float(os.environ["VISAGE_TEST_SLOW_S"]))
        return function(*args, **kwargs)

    return slow


grouping.group_usable = _slowed(grouping.group_usable)
facemap.project_2d = _slowed(facemap.project_2d)

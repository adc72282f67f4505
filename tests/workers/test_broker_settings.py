"""The broker must not hand a long job that is still running to a second worker."""
from django.conf import settings

from webapp.training.tasks import switch_execute, training_execute


def test_visibility_timeout_outlasts_the_longest_task():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for task in (training_execute, switch_execute):
        assert task.time_limit > task.soft_time_limit
        assert visibility > task.time_limit, f"{task.name} outlives the broker's visibility timeout"

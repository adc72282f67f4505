"""The broker must not hand a long job that is still running to a second worker."""
from django.conf import settings

from workers.training_tasks import model_switch_task, training_run_task


def test_visibility_timeout_outlasts_the_longest_task():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for task in (training_run_task, model_switch_task):
        assert task.time_limit > task.soft_time_limit
        assert visibility > task.time_limit, f"{task.name} outlives the broker's visibility timeout"

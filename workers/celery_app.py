"""The Celery application of the worker processes: `celery -A workers.celery_app worker -Q gpu,celery`
for photos, `-Q long` for the long jobs (settings.CELERY_TASK_ROUTES).

The tasks live in their apps (webapp/<app>/tasks.py, @shared_task), next to the service
each one calls, and are found by autodiscover_tasks() in every installed app, as in
cookiecutter-django and the HackSoft styleguide: the web app queues them by name through
webapp.core.broker and never imports this package. What is the worker's own (queues and
routing in settings, the beat schedule, start-up in workers/startup.py) stays here."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("visage", include=["workers.startup"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

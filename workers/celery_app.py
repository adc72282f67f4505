"""The Celery application. Workers start with `celery -A workers.celery_app worker -Q gpu,celery`."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

app = Celery("visage", include=["workers.tasks", "workers.training_tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")

from django.apps import AppConfig


class WorkersConfig(AppConfig):
    """workers/ as a Django app (no models): Django loads it by name from INSTALLED_APPS,
    so every process that sets Django up (web server, management command, test run) has
    the configured Celery app as Celery's current app, the one the apps' @shared_task
    tasks bind to and webapp.core.broker sends through. cookiecutter-django imports its
    Celery app in the project package's __init__; here that package also holds the apps,
    and importing workers from it would put workers underneath every one of them."""

    name = "workers"

    def ready(self) -> None:
        import workers.celery_app  # noqa: F401

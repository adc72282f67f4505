from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "webapp.core"
    label = "core"

    def ready(self) -> None:
        from django.contrib import admin

        from webapp.core.forms import ThrottledAdminAuthenticationForm

        # The admin has its own sign-in page; it must not be a way around the lock.
        admin.site.login_form = ThrottledAdminAuthenticationForm

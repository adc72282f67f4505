from django.contrib import admin

from webapp.core.models import LoginFailure


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    """Deleting a user's rows here lifts a lock early."""

    list_display = ["username", "client_ip", "failed_at"]
    search_fields = ["username", "client_ip"]
    ordering = ["-failed_at"]

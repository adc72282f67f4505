from __future__ import annotations

import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone

from webapp.core import throttling


class ThrottledLoginMixin:
    """Checks the lock before the password and counts the failures (see throttling)."""

    throttled_message = "Too many failed sign-in attempts. Please wait %(minutes)s before trying again."

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()  # the missing field explains itself
        address = throttling.client_ip(self.request)
        until = throttling.login_locked_until(username=username, client_ip=address)
        if until is not None:
            minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
            raise forms.ValidationError(
                self.throttled_message,
                code="throttled",
                params={"minutes": "1 minute" if minutes == 1 else f"{minutes} minutes"},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if self.user_cache is None:  # a wrong password, not a refused (inactive) account
                throttling.login_failure_record(username=username, client_ip=address)
            raise
        throttling.login_failures_clear(username=username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass

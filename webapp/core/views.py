from __future__ import annotations

from django.contrib.auth.views import LoginView
from django.forms.forms import NON_FIELD_ERRORS

from webapp.core.forms import ThrottledAuthenticationForm


class ThrottledLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429  # Too Many Requests: scripts see the lock too
        return response

"""The Settings page of personal API tokens: make one (its secret shown once), list them,
revoke one. A user sees and revokes only their own."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from webapp.core import tokens


@require_http_methods(["GET", "POST"])
def token_list(request):
    """A new token's secret is shown in the answer to the POST that made it, and never
    again: it is not stored (only its hash) nor put in the session. Its page says so."""
    context = {"name_max": tokens.NAME_MAX}
    status = 200
    if request.method == "POST":
        try:
            context["made"], context["secret"] = tokens.token_create(user=request.user, name=request.POST.get("name", ""))
        except tokens.TokenError as exc:
            context["error"], context["name"] = str(exc), request.POST.get("name", "")
            status = 400
    context["tokens"] = tokens.tokens_of(user=request.user)
    return render(request, "core/tokens.html", context, status=status)


@require_POST
def token_revoke(request, token_id: int):
    if not tokens.token_revoke(user=request.user, token_id=token_id):
        raise Http404("No such token")
    messages.info(request, "Token revoked: programs using it are refused from now on.")
    return redirect("token-list")

from django.urls import path

from webapp.core import token_views

urlpatterns = [
    path("settings/tokens/", token_views.token_list, name="token-list"),
    path("settings/tokens/<int:token_id>/revoke/", token_views.token_revoke, name="token-revoke"),
]

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp.api import api_urls
from webapp.core.views import ThrottledLoginView

urlpatterns = [
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls(), namespace="api")),
    path("", include("webapp.core.urls")),
    path("", include("webapp.photos.urls")),
    path("", include("webapp.faces.urls")),
    path("", include("webapp.search.urls")),
    path("", include("webapp.people.urls")),
    path("", include("webapp.training.urls")),
]

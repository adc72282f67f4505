from django.urls import path

from webapp.search import views

urlpatterns = [
    path("faces/<int:face_id>/similar/", views.face_similar, name="face-similar"),
    path("who/", views.who_is_this, name="who-is-this"),
    path("verify/", views.verify, name="verify"),
    path("people/search/", views.people_search, name="people-search"),
]

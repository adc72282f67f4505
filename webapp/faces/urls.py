from django.urls import path

from webapp.faces import views

urlpatterns = [
    path("faces/", views.face_list, name="face-list"),
    path("faces/<int:face_id>/thumbnail.jpg", views.face_thumbnail, name="face-thumbnail"),
]

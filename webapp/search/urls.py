from django.urls import path

from webapp.search import api, views

urlpatterns = [
    path("faces/<int:face_id>/similar/", views.face_similar, name="face-similar"),
    path("who/", views.who_is_this, name="who-is-this"),
    path("verify/", views.verify, name="verify"),
    path("people/search/", views.people_search, name="people-search"),
    path("api/v1/faces/<int:face_id>/similar", api.face_similar, name="api-face-similar"),
    path("api/v1/who-is-this", api.who_is_this, name="api-who-is-this"),
    path("api/v1/verify", api.verify, name="api-verify"),
    path("api/v1/people", api.people_search, name="api-people-search"),
    path("api/v1/photos", api.photos_with_people, name="api-photos-with-people"),
    path("api/v1/faces/<int:face_id>/not-a-face", api.face_not_a_face, name="api-face-not-a-face"),
    path("api/v1/photos/<int:photo_id>/faces", api.face_add, name="api-face-add"),
]

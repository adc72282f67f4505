from django.urls import path

from webapp.people import metadata_views, views

urlpatterns = [
    path("people/", views.people_list, name="people-list"),
    path("people/<int:person_id>/", views.person_detail, name="person-detail"),
    path("people/<int:person_id>/edit/", views.person_edit, name="person-edit"),
    path("people/unsorted/", views.unsorted, name="people-unsorted"),
    path("people/photos/", views.people_photos, name="people-photos"),
    path("people/review/", views.review, name="people-review"),
    path("people/history/", views.operations, name="people-history"),
    path("people/map/", views.face_map, name="face-map"),
    path("people/pairs/", views.pair_answer, name="people-pair-answer"),
    path("people/group/progress/", views.group_progress, name="people-group-progress"),
    path("people/group/", views.group, name="people-group"),
    path("people/undo/", views.undo, name="people-undo"),
    path("people/faces/", views.faces_action, name="faces-action"),
    path("faces/<int:face_id>/not-a-face/", views.face_not_a_face, name="face-not-a-face"),
    path("photos/<int:photo_id>/faces/add/", views.face_add, name="face-add"),
    path("photos/<int:photo_id>/metadata.xmp", metadata_views.photo_metadata_xmp, name="photo-metadata-xmp"),
    path("photos/<int:photo_id>/download/", metadata_views.photo_download_named, name="photo-download-named"),
    path("photos/<int:photo_id>/sidecar/", metadata_views.photo_sidecar_write_view, name="photo-sidecar-write"),
    path("albums/<int:album_id>/export-names/", metadata_views.album_names_export_view, name="album-names-export"),
]

from django.urls import path

from webapp.photos import library_views, views

urlpatterns = [
    path("", views.album_list, name="album-list"),
    path("albums/<int:album_id>/", views.album_detail, name="album-detail"),
    path("albums/<int:album_id>/progress/", views.album_progress, name="album-progress"),
    path("albums/<int:album_id>/rename/", views.album_rename, name="album-rename"),
    path("albums/<int:album_id>/delete/", views.album_delete, name="album-delete"),
    path("albums/<int:album_id>/grid/", views.album_grid, name="album-grid"),
    path("albums/<int:album_id>/upload/", views.album_upload, name="album-upload"),
    path("photos/<int:photo_id>/", views.photo_detail, name="photo-detail"),
    path("photos/<int:photo_id>/file/", views.photo_file, name="photo-file"),
    path("photos/<int:photo_id>/delete/", views.photo_delete, name="photo-delete"),
    path("photos/<int:photo_id>/thumbnail.jpg", views.photo_thumbnail, name="photo-thumbnail"),
    path("libraries/", library_views.library_list, name="library-list"),
    path("libraries/<int:library_id>/", library_views.library_detail, name="library-detail"),
    path("libraries/<int:library_id>/scan/", library_views.library_scan_progress, name="library-scan-progress"),
    path("libraries/<int:library_id>/rescan/", library_views.library_rescan, name="library-rescan"),
    path("libraries/<int:library_id>/remove/", library_views.library_remove, name="library-remove"),
]

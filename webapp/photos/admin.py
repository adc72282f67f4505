from django.contrib import admin

from webapp.photos.models import Album, Photo


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    list_filter = ["owner"]


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ["original_name", "owner", "album", "status", "width", "height", "taken_at", "created_at"]
    list_filter = ["status", "owner"]
    exclude = ["thumbnail"]
    readonly_fields = ["content_hash", "size_bytes", "error"]

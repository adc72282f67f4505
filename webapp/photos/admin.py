from django.contrib import admin

from webapp.photos.models import Album, Library, Photo


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


@admin.register(Library)
class LibraryAdmin(admin.ModelAdmin):
    """Read-only here: a library is added under an allowed root from its page, where the
    folder is checked (VISAGE_LIBRARY_ROOTS), never typed into a row."""

    list_display = ["root", "owner", "album", "created_at"]
    list_filter = ["owner"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

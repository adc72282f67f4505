from django.contrib import admin

from webapp.faces.models import EmbeddingModel, Face


@admin.register(EmbeddingModel)
class EmbeddingModelAdmin(admin.ModelAdmin):
    list_display = ["version", "name", "architecture", "input_size", "same_person_threshold", "is_active", "created_at"]
    readonly_fields = ["checkpoint_sha256", "metrics", "alignment_template"]


@admin.register(Face)
class FaceAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "photo", "detection_score", "quality", "embedding_model", "person", "created_at"]
    list_filter = ["embedding_model", "owner"]
    exclude = ["embedding", "thumbnail"]
    raw_id_fields = ["photo", "person"]

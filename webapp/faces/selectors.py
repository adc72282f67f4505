"""Reads for faces and embedding models."""
from __future__ import annotations

from django.db.models import QuerySet

from webapp.faces.models import EmbeddingModel, Face


class NoActiveModel(RuntimeError):
    pass


def embedding_model_active() -> EmbeddingModel:
    model = EmbeddingModel.objects.filter(is_active=True).first()
    if model is None:
        raise NoActiveModel("No active embedding model: run `manage.py migrate` to register the shipped one.")
    return model


def face_list(*, owner) -> QuerySet[Face]:
    """The user's faces, newest first, without the heavy columns."""
    return (
        Face.objects.filter(owner=owner)
        .select_related("photo", "person")
        .defer("embedding", "thumbnail", "photo__thumbnail")
        .order_by("-created_at", "-id")
    )


def face_for_owner(*, owner, face_id: int) -> Face | None:
    return Face.objects.filter(owner=owner, pk=face_id).first()

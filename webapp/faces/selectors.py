"""Reads for faces and embedding models."""
from __future__ import annotations

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

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


def low_quality() -> Q:
    """Faces whose embedding is too poor to group, to be suggested a name or to vote for
    one (ml/faces/quality.py). Faces not yet scored (null) are not among them. Whether a
    user confirmed a face is not asked here: callers that skip confirmed faces say so."""
    return Q(quality__lt=settings.VISAGE_FACE_QUALITY_MIN)


def low_quality_flag() -> ExpressionWrapper:
    """``low_quality`` as a column to annotate (true, or false/null for the others)."""
    return ExpressionWrapper(low_quality(), output_field=BooleanField())

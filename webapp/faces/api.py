"""How the JSON API shows a face, whichever endpoint answers with one."""
from __future__ import annotations

from datetime import datetime

from django.urls import reverse
from ninja import Schema

from webapp.faces.models import Face


class FaceOut(Schema):
    id: int
    photo_id: int
    box: list[float]  # x0, y0, x1, y1 in the photo's pixels, as it is shown (EXIF turned)
    person: str | None  # the name of the person it belongs to; null when unnamed or none
    taken_at: datetime | None
    thumbnail_url: str
    photo_url: str
    similar_url: str
    source: str  # "detected" or "drawn" (added by hand)


def face_out(request, face: Face) -> dict:
    """``face`` with ``photo`` and ``person`` selected."""
    return {
        "id": face.pk,
        "photo_id": face.photo_id,
        "box": [round(v, 1) for v in face.box],
        "person": face.person.name if face.person_id and face.person.name else None,
        "taken_at": face.photo.taken_at,
        "thumbnail_url": request.build_absolute_uri(reverse("face-thumbnail", args=[face.pk])),
        "photo_url": request.build_absolute_uri(reverse("photo-detail", args=[face.photo_id])),
        "similar_url": request.build_absolute_uri(reverse("api:face-similar", args=[face.pk])),
        "source": face.source,
    }

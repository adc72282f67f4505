"""What the libraries can teach: people with at least two confirmed faces."""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from webapp.faces.models import Face

MIN_FACES_PER_PERSON = 2


@dataclass(frozen=True)
class LibraryStock:
    user_id: int
    username: str
    people: int
    faces: int


def confirmed_faces(*, owner_ids: list[int] | None) -> QuerySet[Face]:
    """Confirmed faces of people with at least two of them, in the chosen libraries
    (None: every user's)."""
    faces = Face.objects.filter(person_state=Face.PersonState.CONFIRMED, person__isnull=False)
    if owner_ids is not None:
        faces = faces.filter(owner_id__in=owner_ids)
    eligible = (
        faces.values("person_id").annotate(n=Count("id")).filter(n__gte=MIN_FACES_PER_PERSON).values("person_id")
    )
    return faces.filter(person_id__in=eligible)


def library_stock() -> list[LibraryStock]:
    """Per user: people with >= 2 confirmed faces and those faces, for the admin page."""
    counts = {
        row["owner_id"]: row
        for row in confirmed_faces(owner_ids=None)
        .values("owner_id")
        .annotate(people=Count("person_id", distinct=True), faces=Count("id"))
    }
    users = get_user_model().objects.order_by("username")
    return [
        LibraryStock(u.pk, u.get_username(), counts.get(u.pk, {}).get("people", 0), counts.get(u.pk, {}).get("faces", 0))
        for u in users
    ]

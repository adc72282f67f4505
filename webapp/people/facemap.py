"""Computing and reading the face map."""
from __future__ import annotations

import numpy as np
from django.db import transaction
from django.utils import timezone

from ml.grouping.facemap import project_2d
from webapp.core.broker import send_on_commit
from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active
from webapp.people.models import FaceMap

# Recompute when the library changed by more than this share since the last map.
STALE_SHARE = 0.1


def facemap_compute(*, owner) -> FaceMap:
    face_map, _ = FaceMap.objects.get_or_create(owner=owner)
    FaceMap.objects.filter(pk=face_map.pk).update(status="running", error="")
    rows = list(Face.objects.filter(owner=owner, embedding_model=embedding_model_active()).values_list("pk", "embedding"))
    try:
        points = project_2d(np.stack([np.asarray(e, dtype=np.float32) for _, e in rows])) if rows else np.zeros((0, 2))
    except Exception as exc:  # a failed map must say so on the page, not spin forever
        FaceMap.objects.filter(pk=face_map.pk).update(status="failed", error=str(exc))
        raise
    face_map.points = [[pk, round(float(x), 4), round(float(y), 4)] for (pk, _), (x, y) in zip(rows, points)]
    face_map.face_count = len(rows)
    face_map.status = "done"
    face_map.computed_at = timezone.now()
    face_map.save()
    return face_map


def facemap_request(*, owner) -> FaceMap:
    """The user's map; queues a recomputation when there is none or it is stale."""
    with transaction.atomic():
        face_map, created = FaceMap.objects.select_for_update().get_or_create(owner=owner)
        count = Face.objects.filter(owner=owner).count()
        stale = face_map.status in ("done", "failed") and abs(count - face_map.face_count) > STALE_SHARE * max(1, face_map.face_count)
        if created or stale:
            face_map.status = "queued"
            face_map.save(update_fields=["status"])
            # Quietly: with Redis down the page still answers and shows the map as queued.
            send_on_commit("people.facemap_compute", args=[owner.pk])
    return face_map


def facemap_points(*, owner, face_map: FaceMap) -> list[dict]:
    """Points with their person, for drawing: only faces that still exist."""
    people = dict(Face.objects.filter(owner=owner).values_list("pk", "person_id"))
    names = dict(owner.people.values_list("pk", "name"))
    return [
        {"face": pk, "x": x, "y": y, "person": people[pk], "name": names.get(people[pk]) or ("Unnamed" if people[pk] else "Unsorted")}
        for pk, x, y in face_map.points if pk in people
    ]

"""Computing and reading the face map."""
from __future__ import annotations

import numpy as np
from django.db import transaction

from ml.grouping.facemap import project_2d
from webapp.core.broker import send_quietly
from webapp.core.jobs import Claim, JobHeartbeat, job_claim
from webapp.faces.models import Face
from webapp.faces.selectors import embedding_model_active
from webapp.people.models import FaceMap

# Recompute when the library changed by more than this share since the last map.
STALE_SHARE = 0.1
NOT_QUEUED = "The map could not be queued (the task queue is unreachable); try again later."


def facemap_compute(*, owner) -> FaceMap:
    """The task body: claim the user's map and compute it. A delivery with nothing to do
    (the map ended, or a live worker holds it) returns the map as it is."""
    face_map, _ = FaceMap.objects.get_or_create(owner=owner)
    claim, claimed = job_claim(FaceMap, face_map.pk)
    if claim is not Claim.TAKEN:
        return claimed or face_map
    face_map = claimed
    try:
        with JobHeartbeat(face_map) as heartbeat:
            heartbeat.report(message="Reading the faces")
            rows = list(Face.objects.filter(owner=owner, embedding_model=embedding_model_active()).values_list("pk", "embedding"))
            heartbeat.report(message=f"Placing {len(rows)} faces")
            points = project_2d(np.stack([np.asarray(e, dtype=np.float32) for _, e in rows])) if rows else np.zeros((0, 2))
    except Exception as exc:  # a failed map must say so on the page, not spin forever
        face_map.fail(error=str(exc))
        raise
    face_map.finish(
        points=[[pk, round(float(x), 4), round(float(y), 4)] for (pk, _), (x, y) in zip(rows, points)],
        face_count=len(rows), message="",
    )
    return face_map


def facemap_request(*, owner, again: bool = False) -> FaceMap:
    """The user's map; queues a computation when there is none, when the library changed
    since the last map, or when ``again`` asks after a failure (a worker that died while
    computing it counts as one). A failed map waits for that ask, so a map that kills its
    worker is not tried again on every page load."""
    with transaction.atomic():
        face_map, created = FaceMap.objects.select_for_update().get_or_create(owner=owner)
        face_map.fail_if_stale()
        count = Face.objects.filter(owner=owner).count()
        changed = face_map.status == FaceMap.Status.DONE and abs(count - face_map.face_count) > STALE_SHARE * max(1, face_map.face_count)
        retry = again and face_map.status == FaceMap.Status.FAILED
        if created or changed or retry:
            face_map.status, face_map.error, face_map.message = FaceMap.Status.QUEUED, "", ""
            face_map.heartbeat_at = face_map.started_at = None
            face_map.save(update_fields=["status", "error", "message", "heartbeat_at", "started_at"])

            def send() -> None:
                if not send_quietly("people.facemap_compute", args=[owner.pk]):
                    face_map.fail(error=NOT_QUEUED)

            transaction.on_commit(send)
    return face_map


def facemap_points(*, owner, face_map: FaceMap) -> list[dict]:
    """Points with their person, for drawing: only faces that still exist."""
    people = dict(Face.objects.filter(owner=owner).values_list("pk", "person_id"))
    names = dict(owner.people.values_list("pk", "name"))
    return [
        {"face": pk, "x": x, "y": y, "person": people[pk], "name": names.get(people[pk]) or ("Unnamed" if people[pk] else "Unsorted")}
        for pk, x, y in face_map.points if pk in people
    ]

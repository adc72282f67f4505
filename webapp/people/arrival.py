"""What happens to faces as they arrive: an immediate name suggestion when a named person
is close enough, and a grouping run once the uploads have settled."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from webapp.core.broker import send_on_commit
from webapp.faces.models import Face
from webapp.faces.selectors import low_quality
from webapp.people.grouping import grouping_start
from webapp.people.models import Operation
from webapp.people.propagation import SUGGEST_MIN_CONFIDENCE, naming_threshold
from webapp.people.selectors import faces_named, person_guess
from webapp.photos.models import Photo

# Grouping waits until no face arrived for this long, so a 5,000-photo upload is
# grouped once at the end rather than after every batch.
SETTLE = timedelta(seconds=30)


def faces_suggest_on_arrival(*, owner, face_ids: list[int]) -> int:
    """k-NN against confirmed, named faces through the HNSW index: one query per face
    (none for a face of low quality, which is never suggested a name)."""
    if not faces_named(owner=owner).exists():
        return 0  # nobody named yet: spare every new face its index query
    suggested = 0
    faces = Face.objects.filter(owner=owner, pk__in=face_ids, person__isnull=True).exclude(low_quality())
    for face in faces.select_related("embedding_model"):
        guess = person_guess(
            owner=owner, model=face.embedding_model, embedding=face.embedding, exclude_face_id=face.pk,
            threshold=naming_threshold(face.embedding_model),
        )
        if guess.person is not None and guess.confidence >= SUGGEST_MIN_CONFIDENCE:
            Face.objects.filter(pk=face.pk, person__isnull=True).update(
                person=guess.person, person_state=Face.PersonState.AUTO, person_confidence=round(guess.confidence, 4)
            )
            suggested += 1
    return suggested


def faces_arrived(*, owner_id: int, face_ids: list[int], group_later: bool, **_signal) -> None:
    """Receiver of faces.signals.faces_added (connected in PeopleConfig.ready): suggest
    names at once, and group the faces once the uploads settle."""
    faces_suggest_on_arrival(owner=get_user_model().objects.get(pk=owner_id), face_ids=face_ids)
    if group_later and settings.VISAGE_AUTO_GROUP:
        send_on_commit("people.grouping_start_when_settled", args=[owner_id], countdown=SETTLE.total_seconds())


def grouping_start_when_settled(*, owner) -> str:
    """Start a grouping run if the uploads have settled, look again later if they have
    not (the debounce of faces_arrived); returns what grouping_due said."""
    due = grouping_due(owner=owner)
    if due == "later":
        send_on_commit("people.grouping_start_when_settled", args=[owner.pk], countdown=SETTLE.total_seconds())
    elif due == "now":
        grouping_start(owner=owner)
    return due


def grouping_due(*, owner) -> str:
    """'now', 'later' (uploads still arriving) or 'no' (nothing new since the last run)."""
    last_run = Operation.objects.filter(owner=owner, kind="group").order_by("-created_at").values_list("created_at", flat=True).first()
    newest_face = Face.objects.filter(owner=owner).order_by("-created_at").values_list("created_at", flat=True).first()
    if newest_face is None or (last_run is not None and last_run >= newest_face):
        return "no"
    busy = Photo.objects.filter(owner=owner, status=Photo.Status.QUEUED).exists()
    if busy or timezone.now() - newest_face < SETTLE:
        return "later"
    return "now"

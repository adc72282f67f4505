"""Names that outlive their face rows: a photo re-processed (its library file changed, or
came back after it went missing) gets new faces, and each new face found at the place of
a named one takes its person back, matched by box overlap."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from ml.faces.boxes import boxes_match
from webapp.faces.models import EmbeddingModel, Face, KeptName
from webapp.photos.models import Photo

# Two detections of the same face in one photo overlap far more (a re-saved or retouched
# file moves a box by a few pixels); two neighbouring faces hardly overlap at all.
SAME_FACE_MIN_IOU = 0.5

CARRIED = ("person_id", "person_state", "person_confidence", "group_key")


def names_set_aside(*, photo: Photo, **_signal) -> Callable[[], None]:
    """Receiver of photos.signals.photo_vanishing: keep the names of the photo's faces,
    then (once every receiver has looked at the faces) remove the faces, so the missing
    file leaves the people views and similarity searches."""
    names_keep(photo=photo)
    # The faces the user drew stay with the photo: re-detection could not find them again.
    return lambda: Face.objects.filter(photo=photo, source=Face.Source.DETECTED).delete()


def names_keep(*, photo: Photo) -> None:
    """Keep the person of each of the photo's named detected faces in a KeptName, before
    those faces go for a reason that is not the user's (the file missing or unreadable
    for now); the faces the user drew are never removed for such a reason."""
    KeptName.objects.bulk_create(
        KeptName(photo_id=photo.pk, box_x0=f.box_x0, box_y0=f.box_y0, box_x1=f.box_x1, box_y1=f.box_y1,
                 **{name: getattr(f, name) for name in CARRIED})
        for f in Face.objects.filter(photo=photo, person__isnull=False, source=Face.Source.DETECTED).only("box_x0", "box_y0", "box_x1", "box_y1", *CARRIED)
    )


def names_carry(*, photo: Photo, model: EmbeddingModel, faces: Sequence[Face]) -> None:
    """Give the new, unsaved ``faces`` of ``photo`` the persons of the faces they replace
    (this version's faces still in the database, and those set aside while the file was
    missing), where the boxes are the same face; the set-aside names are then used up.
    Called inside the transaction that replaces the faces."""
    named = list(Face.objects.filter(photo=photo, embedding_model=model, person__isnull=False,
                                     source=Face.Source.DETECTED).only("box_x0", "box_y0", "box_x1", "box_y1", *CARRIED))
    named += list(KeptName.objects.filter(photo=photo))
    for old, new in boxes_match([f.box for f in named], [f.box for f in faces], SAME_FACE_MIN_IOU):
        for name in CARRIED:
            setattr(faces[new], name, getattr(named[old], name))
    KeptName.objects.filter(photo=photo).delete()

"""The user's word on faces, on real album photos: "Not a face" takes a face out of every
page, search and count, re-processing never brings it back and Undo puts back the very
row; "Add a face" aligns and embeds a drawn box like the detector's face there, keeps it
through re-processing and Undo takes it away again."""
from __future__ import annotations

import io

import numpy as np
import pytest
from django.urls import reverse

from ml.faces.align import landmarks_in_box
from ml.faces.boxes import box_iou
from tests.conftest import make_user
from tests.samples import landscape_jpeg
from webapp.faces.crops import face_crops
from webapp.faces.models import DismissedFace, EmbeddingModel, Face, FaceEmbedding, NetworkCrop
from webapp.faces.runtime import face_pipeline_for
from webapp.faces.services import SAME_FACE_IOU, photo_process
from webapp.people import faceedits, services
from webapp.people.models import FaceRejection, Operation, Person
from webapp.people.oplog import operation_undo
from webapp.photos.models import Photo
from webapp.photos.selectors import album_photos
from webapp.photos.services import album_create, photo_ingest
from webapp.search.selectors import face_similar

pytestmark = pytest.mark.django_db


def ingest(owner, album, path_or_bytes, name=None):
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes.open("rb")
    with source:
        return photo_ingest(owner=owner, album=album, source=source, original_name=name or path_or_bytes.name).photo_id


@pytest.fixture
def library(user, albums_dir):
    """bbt1.jpg (four people) and Sheldon's five crops, named Sheldon."""
    album = album_create(owner=user, name="BBT")
    group = ingest(user, album, albums_dir / "bbt" / "bbt1.jpg")
    crops = [ingest(user, album, path) for path in sorted((albums_dir / "bbt" / "characters" / "sheldon").iterdir())]
    photo_process(photo_ids=[group, *crops])
    sheldon = services.faces_name(owner=user, face_ids=Face.objects.filter(photo_id__in=crops).values_list("pk", flat=True),
                                  name="Sheldon")
    return {"album": album, "group": group, "crops": crops, "sheldon": sheldon}


FACE_COLUMNS = [field.attname for field in Face._meta.concrete_fields]


def rows(owner):
    """Every row the edits can touch, every column: equal means undo put back exactly."""
    faces = [face_columns(face) for face in Face.objects.filter(owner=owner).order_by("pk")]
    return (
        faces,
        sorted(Person.objects.filter(owner=owner).values_list("pk", "name", "name_key", "hidden", "created_at")),
        sorted(FaceRejection.objects.filter(face__owner=owner).values_list("face_id", "person_id")),
        sorted((pk, bytes(jpeg)) for pk, jpeg in NetworkCrop.objects.filter(face__owner=owner).values_list("face_id", "jpeg")),
    )


def pages_showing(client, face: Face, others: list[Face]) -> list[str]:
    """The pages that still show ``face`` (its thumbnail or its box)."""
    thumbnail = reverse("face-thumbnail", args=[face.pk])
    urls = [reverse("photo-detail", args=[face.photo_id]), reverse("people-unsorted"), reverse("people-review"),
            reverse("people-list"), reverse("face-list")]
    urls += [reverse("person-detail", args=[p]) for p in Person.objects.filter(owner=face.owner).values_list("pk", flat=True)]
    urls += [reverse("face-similar", args=[other.pk]) for other in others]
    showing = []
    for url in urls:
        html = client.get(url).content.decode()
        if thumbnail in html or f'id="box-{face.pk}"' in html:
            showing.append(url)
    return showing


def test_not_a_face_hides_it_everywhere_survives_reprocessing_and_undoes_exactly(user, library, client):
    client.force_login(user)
    group_faces = list(Face.objects.filter(photo_id=library["group"]).order_by("box_x0"))
    crop_faces = list(Face.objects.filter(photo_id__in=library["crops"]))
    assert len(group_faces) == 4 and len(crop_faces) == 5
    # A confirmed, named face and a face with a rejection: the rows undo must put back.
    named = crop_faces[0]
    FaceRejection.objects.create(face=named, person=Person.objects.create(owner=user, name="Leonard"))
    target = group_faces[1]
    assert pages_showing(client, named, others=crop_faces[1:])  # the check sees a shown face

    for face, neighbours in ((named, crop_faces[1:]), (target, crop_faces)):
        before = rows(user)
        faceedits.face_not_a_face(owner=user, face_id=face.pk)
        assert not Face.objects.filter(pk=face.pk).exists()
        assert pages_showing(client, face, others=neighbours) == []
        similar = face_similar(owner=user, face=neighbours[0], limit=50)
        assert face.pk not in {item.face.pk for item in similar} and len(similar) >= 3
        assert Operation.objects.filter(owner=user).first().kind == "not-a-face"

        if face is target:
            counts = {p.pk: p.face_count for p in album_photos(album=library["album"])}
            assert counts[library["group"]] == 3
            photo_process(photo_ids=[library["group"]], force=True)
            again = list(Face.objects.filter(photo_id=library["group"]))
            assert len(again) == 3  # the other three are found again, the dismissed one not
            assert max(box_iou(face.box, other.box) for other in again) < SAME_FACE_IOU
            assert DismissedFace.objects.filter(face_id=face.pk).exists()
            # Re-processing gave the other faces new rows: undo puts back the one dismissed among them.
            before = rows(user)
            before[0][:] = sorted([*before[0], face_columns(face)])

        operation_undo(owner=user)
        assert rows(user) == before
        assert not DismissedFace.objects.exists()
        assert pages_showing(client, face, others=neighbours)


def face_columns(face: Face) -> tuple:
    """The columns ``face`` had when loaded, as rows() gives them."""
    return tuple(tuple(float(x) for x in getattr(face, name)) if name == "embedding"
                 else bytes(getattr(face, name)) if name == "thumbnail" else getattr(face, name) for name in FACE_COLUMNS)


def test_a_box_drawn_round_a_face_is_that_face_and_stays(user, library):
    group_faces = list(Face.objects.filter(photo_id=library["group"]).order_by("box_x0"))
    face = group_faces[2]
    # A box a person draws: a little off the detector's, larger on one side.
    x0, y0, x1, y1 = face.box
    w, h = x1 - x0, y1 - y0
    drawn_box = (x0 - 0.08 * w, y0 + 0.05 * h, x1 + 0.12 * w, y1 + 0.1 * h)
    with pytest.raises(services.EditError, match="There is a face there already"):
        faceedits.face_add(owner=user, photo_id=library["group"], box=drawn_box, name="Howard")
    # As if the detector had missed it.
    Face.objects.filter(pk=face.pk).delete()
    before = rows(user)
    operations = Operation.objects.count()

    drawn = faceedits.face_add(owner=user, photo_id=library["group"], box=drawn_box, name="Howard")
    drawn = Face.objects.get(pk=drawn.pk)
    assert drawn.source == Face.Source.DRAWN and drawn.box == pytest.approx(drawn_box)
    assert drawn.detection_score > 0.9  # the detector found the face in the box and gave its landmarks
    # Found again in a region at full resolution, where the photo's pass saw it downscaled
    # to 640 pixels: the same points to within a few pixels (an eighth of the eyes' distance).
    eyes = np.linalg.norm(np.subtract(face.landmarks[1], face.landmarks[0]))
    assert np.linalg.norm(np.subtract(drawn.landmarks, face.landmarks), axis=1).max() < eyes / 8
    distance = 1 - float(np.dot(drawn.embedding, face.embedding))
    assert distance < 0.05, distance
    assert drawn.person.name == "Howard" and drawn.person_state == Face.PersonState.CONFIRMED
    assert Operation.objects.count() == operations + 1

    photo_process(photo_ids=[library["group"]], force=True)
    faces = list(Face.objects.filter(photo_id=library["group"]))
    assert len(faces) == 4 and drawn.pk in {f.pk for f in faces}  # kept, and no detected copy beside it
    assert Face.objects.get(pk=drawn.pk).person.name == "Howard"

    operation_undo(owner=user)
    assert not Face.objects.filter(pk=drawn.pk).exists() and not Person.objects.filter(name="Howard").exists()
    after = rows(user)
    # Re-processing gave the other three faces new rows; all else is as before the add.
    assert after[1:] == before[1:] and len(after[0]) == len(before[0])
    assert Face.objects.filter(photo_id=library["group"]).count() == 3


def test_a_box_with_no_face_the_detector_sees_gets_landmarks_from_the_box(user):
    album = album_create(owner=user, name="Hills")
    photo = ingest(user, album, landscape_jpeg(), name="hills.jpg")
    photo_process(photo_ids=[photo])
    box = (300.0, 150.0, 420.0, 290.0)
    face = Face.objects.get(pk=faceedits.face_add(owner=user, photo_id=photo, box=box).pk)
    assert face.detection_score == 0 and face.person is None and face.source == Face.Source.DRAWN
    assert np.allclose(face.landmarks, landmarks_in_box(box), atol=0.01)
    assert len(face.embedding) == 128 and abs(np.linalg.norm(face.embedding) - 1) < 1e-4


@pytest.mark.parametrize("box, message", [
    ((-50, 10, 100, 120), "must lie on the photo"),
    ((10, 10, 5000, 120), "must lie on the photo"),
    ((100, 100, 110, 160), "too small"),
    ((200, 100, 100, 200), "four numbers"),
    (("a", 1, 2, 3), "four numbers"),
    ((1, 2, 3), "four numbers"),
    (None, "four numbers"),
])
def test_a_bad_box_is_refused_and_changes_nothing(user, library, box, message):
    before, operations = rows(user), Operation.objects.count()
    with pytest.raises(services.EditError, match=message):
        faceedits.face_add(owner=user, photo_id=library["group"], box=box, name="Nobody")
    assert rows(user) == before and Operation.objects.count() == operations


def test_another_users_face_and_photo_are_not_there(user, library):
    bob = make_user("bob")
    face = Face.objects.filter(photo_id=library["group"]).first()
    with pytest.raises(services.EditError, match="No such face"):
        faceedits.face_not_a_face(owner=bob, face_id=face.pk)
    with pytest.raises(services.EditError, match="No such photo"):
        faceedits.face_add(owner=bob, photo_id=library["group"], box=face.box)
    assert Face.objects.filter(pk=face.pk).exists()


def test_a_face_dismissed_before_a_switch_of_versions_comes_back_switched(user, library):
    face = Face.objects.filter(photo_id=library["group"]).first()
    old = face.embedding_model
    faceedits.face_not_a_face(owner=user, face_id=face.pk)
    # A switch to v1 happened meanwhile (only the active flag matters here).
    new = EmbeddingModel.objects.exclude(pk=old.pk).get(checkpoint="dlib_resnet_v1.pt")
    EmbeddingModel.objects.filter(pk=old.pk).update(is_active=False)
    EmbeddingModel.objects.filter(pk=new.pk).update(is_active=True)
    operation_undo(owner=user)
    back = Face.objects.get(pk=face.pk)
    assert back.embedding_model_id == new.pk
    embedder = face_pipeline_for(new).embedder
    expected = embedder.embed(face_crops([back], embedder.template))[0]
    assert np.allclose(back.embedding, expected, atol=1e-6)
    assert np.allclose(FaceEmbedding.objects.get(face=back, embedding_model=old).embedding, face.embedding)


def test_the_photo_pages_buttons(user, library, client):
    client.force_login(user)
    photo_url = reverse("photo-detail", args=[library["group"]])
    face = Face.objects.filter(photo_id=library["group"]).first()
    page = client.post(reverse("face-not-a-face", args=[face.pk]), follow=True)
    assert page.redirect_chain == [(photo_url, 302)]
    html = page.content.decode()
    assert "Marked as not a face." in html and f'action="{reverse("people-undo")}"' in html and f'id="box-{face.pk}"' not in html
    back = client.post(reverse("people-undo"), HTTP_REFERER=photo_url, follow=True)
    assert back.redirect_chain == [(photo_url, 302)] and f'id="box-{face.pk}"' in back.content.decode()
    refused = client.post(reverse("face-add", args=[library["group"]]), {"x0": 10, "y0": 10, "x1": 15, "y1": 15, "name": "X"}, follow=True)
    assert "That box is too small for a face" in refused.content.decode()
    assert not Face.objects.filter(source=Face.Source.DRAWN).exists() and not Person.objects.filter(name="X").exists()


def test_a_drawn_face_stays_when_its_photo_can_no_longer_be_read(user):
    album = album_create(owner=user, name="Hills")
    photo_id = ingest(user, album, landscape_jpeg(), name="hills.jpg")
    photo_process(photo_ids=[photo_id])
    drawn = faceedits.face_add(owner=user, photo_id=photo_id, box=(300, 150, 420, 290))
    photo = Photo.objects.get(pk=photo_id)
    photo.file.storage.delete(photo.file.name)
    photo_process(photo_ids=[photo_id], force=True)
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED and "missing" in photo.error
    assert list(Face.objects.filter(photo_id=photo_id).values_list("pk", flat=True)) == [drawn.pk]

"""The search copy of each face's vector (FaceSearchVector) stays equal to the face on every
write path, and assigning people never rewrites it (which would re-insert the face into
the HNSW graph: the cost migration faces 0013 removed from grouping and naming)."""
from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from webapp.faces.models import Face, FaceSearchVector
from webapp.faces.services import photo_process
from webapp.faces.similarity import nearest_faces
from webapp.people.models import Person
from webapp.photos.services import album_create, photo_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def faces(user, albums_dir):
    album = album_create(owner=user, name="BBT")
    ids = []
    for path in sorted((albums_dir / "bbt").glob("bbt*.jpg"))[:2]:
        with path.open("rb") as handle:
            ids.append(photo_ingest(owner=user, album=album, source=handle, original_name=path.name).photo_id)
    photo_process(photo_ids=ids)
    found = list(Face.objects.filter(owner=user).order_by("pk"))
    assert len(found) >= 3
    return found


def copies() -> dict[int, tuple]:
    return {row.face_id: (row.owner_id, row.embedding_model_id, tuple(np.round(row.embedding, 6)))
            for row in FaceSearchVector.objects.all()}


def faces_as_copied() -> dict[int, tuple]:
    return {face.pk: (face.owner_id, face.embedding_model_id, tuple(np.round(face.embedding, 6)))
            for face in Face.objects.all()}


def row_version(face_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM faces_facesearchvector WHERE face_id = %s", [face_id])
        return cursor.fetchone()[0]


def test_every_write_path_keeps_the_copy_equal(user, other_user, faces):
    assert copies() == faces_as_copied()
    first, second, third = faces[:3]

    # A new vector through the ORM, and through raw SQL (the version switch's column swap).
    turned = -np.asarray(first.embedding, dtype=np.float32)
    Face.objects.filter(pk=first.pk).update(embedding=turned.tolist())
    with connection.cursor() as cursor:
        cursor.execute("UPDATE faces_face SET embedding = (SELECT embedding FROM faces_face WHERE id = %s) WHERE id = %s",
                       [third.pk, second.pk])
    second.refresh_from_db()
    second.owner = other_user
    second.save()
    assert copies() == faces_as_copied()
    assert FaceSearchVector.objects.get(face_id=second.pk).owner_id == other_user.pk

    # The search reads the copy: the turned face is now nearest to its own new vector.
    nearest = nearest_faces(owner_id=user.pk, model_id=first.embedding_model_id, query=turned, limit=1, exact=True)
    assert nearest[0].face_id == first.pk

    # Deleting, one face and a whole photo's, takes the copies along.
    Face.objects.filter(pk=first.pk).delete()
    third.photo.delete()
    assert copies() == faces_as_copied()
    assert first.pk not in copies() and third.pk not in copies()


def test_assigning_people_leaves_the_copy_untouched(user, faces):
    face = faces[0]
    before = row_version(face.pk)
    person = Person.objects.create(owner=user, name="Sheldon")
    Face.objects.filter(pk=face.pk).update(person=person, person_state=Face.PersonState.CONFIRMED, group_key=7)
    face.refresh_from_db()
    face.person_confidence = 0.5
    face.save()  # every column written again, the vector unchanged
    assert row_version(face.pk) == before


@pytest.mark.django_db(transaction=True)
def test_the_migration_copies_the_faces_stored_before_it(user, albums_dir):
    from django.db.migrations.executor import MigrationExecutor

    before, latest = ("faces", "0012_face_quality_backfill"), ("faces", "0013_face_search_vector")
    album = album_create(owner=user, name="Old faces")
    with (albums_dir / "friends" / "multiface.jpg").open("rb") as handle:
        photo_process(photo_ids=[photo_ingest(owner=user, album=album, source=handle, original_name="m.jpg").photo_id])
    stored = faces_as_copied()
    assert len(stored) >= 3
    executor = MigrationExecutor(connection)
    executor.migrate([before])  # back: the index on faces_face again, no copy, no triggers
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('faces_facesearchvector'), to_regclass('face_embedding_hnsw')")
        assert cursor.fetchone() == (None, "face_embedding_hnsw")
    executor.loader.build_graph()
    executor.migrate([latest])
    assert copies() == stored
    face = Face.objects.order_by("pk").first()
    nearest = nearest_faces(owner_id=user.pk, model_id=face.embedding_model_id, query=face.embedding, limit=1)
    assert nearest[0].face_id == face.pk
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # the later migrations too, for the tests after this one

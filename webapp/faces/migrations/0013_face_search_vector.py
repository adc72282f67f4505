"""Moves the HNSW index of Face.embedding to a table of its own, faces_facesearchvector,
kept equal to faces_face by triggers (models.FaceSearchVector says why)."""
import django.db.models.deletion
import pgvector.django.indexes
import pgvector.django.vector
from django.db import migrations, models

# Every write path of faces_face (the ORM, raw SQL, COPY) fires these. An UPDATE touches the
# copy only when one of the copied columns really changed, so assigning people never does.
TRIGGERS = """
CREATE FUNCTION faces_search_vector_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO faces_facesearchvector (face_id, owner_id, embedding_model_id, embedding)
        VALUES (NEW.id, NEW.owner_id, NEW.embedding_model_id, NEW.embedding);
    ELSE
        UPDATE faces_facesearchvector
        SET owner_id = NEW.owner_id, embedding_model_id = NEW.embedding_model_id, embedding = NEW.embedding
        WHERE face_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER faces_face_search_vector_insert AFTER INSERT ON faces_face
    FOR EACH ROW EXECUTE FUNCTION faces_search_vector_sync();

CREATE TRIGGER faces_face_search_vector_update AFTER UPDATE OF embedding, owner_id, embedding_model_id ON faces_face
    FOR EACH ROW WHEN (OLD.embedding IS DISTINCT FROM NEW.embedding OR OLD.owner_id <> NEW.owner_id
                       OR OLD.embedding_model_id <> NEW.embedding_model_id)
    EXECUTE FUNCTION faces_search_vector_sync();

CREATE FUNCTION faces_search_vector_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM faces_facesearchvector WHERE face_id = OLD.id;
    RETURN NULL;
END $$;

CREATE TRIGGER faces_face_search_vector_delete AFTER DELETE ON faces_face
    FOR EACH ROW EXECUTE FUNCTION faces_search_vector_delete();
"""

DROP_TRIGGERS = """
DROP TRIGGER faces_face_search_vector_delete ON faces_face;
DROP TRIGGER faces_face_search_vector_update ON faces_face;
DROP TRIGGER faces_face_search_vector_insert ON faces_face;
DROP FUNCTION faces_search_vector_delete();
DROP FUNCTION faces_search_vector_sync();
"""

COPY_FACES = """
INSERT INTO faces_facesearchvector (face_id, owner_id, embedding_model_id, embedding)
SELECT id, owner_id, embedding_model_id, embedding FROM faces_face
"""


class Migration(migrations.Migration):

    dependencies = [
        ("faces", "0012_face_quality_backfill"),
    ]

    operations = [
        migrations.CreateModel(
            name="FaceSearchVector",
            fields=[
                ("face", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="+", serialize=False, to="faces.face")),
                ("owner_id", models.BigIntegerField()),
                ("embedding_model_id", models.BigIntegerField()),
                ("embedding", pgvector.django.vector.VectorField(dimensions=128)),
            ],
        ),
        migrations.RunSQL(COPY_FACES, migrations.RunSQL.noop),
        migrations.RunSQL("SET LOCAL maintenance_work_mem = '256MB'", migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="facesearchvector",
            index=pgvector.django.indexes.HnswIndex(ef_construction=64, fields=["embedding"], m=16,
                                                    name="face_search_vector_hnsw", opclasses=["vector_cosine_ops"]),
        ),
        migrations.AddIndex(
            model_name="facesearchvector",
            index=models.Index(fields=["owner_id", "embedding_model_id"], name="face_search_vector_owner"),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RemoveIndex(model_name="face", name="face_embedding_hnsw"),
    ]

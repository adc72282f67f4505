"""Register the mirror-averaged dlib checkpoint; active on an install without faces."""
from django.conf import settings
from django.db import migrations


def register(apps, schema_editor):
    from webapp.faces.registry import register_mirror_model

    has_faces = apps.get_model("faces", "Face").objects.exists()
    register_mirror_model(apps.get_model("faces", "EmbeddingModel"), settings.MODELS_DIR, make_active=not has_faces)


def unregister(apps, schema_editor):
    from webapp.faces.registry import MIRROR_CHECKPOINT, SHIPPED_CHECKPOINT

    EmbeddingModel = apps.get_model("faces", "EmbeddingModel")
    mirror = EmbeddingModel.objects.filter(checkpoint=MIRROR_CHECKPOINT, faces__isnull=True).first()
    if mirror is not None:
        if mirror.is_active:
            EmbeddingModel.objects.filter(checkpoint=SHIPPED_CHECKPOINT).update(is_active=True)
        mirror.delete()


class Migration(migrations.Migration):
    dependencies = [("faces", "0005_face_group_key")]
    operations = [migrations.RunPython(register, unregister)]

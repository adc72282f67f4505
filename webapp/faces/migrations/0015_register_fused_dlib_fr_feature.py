"""Register the fused model (dlib + fr_feature, issue #16) as a version an admin can
switch to; the active version stays as it is."""
from django.conf import settings
from django.db import migrations


def register(apps, schema_editor):
    from webapp.faces.registry import register_fused_model

    register_fused_model(apps.get_model("faces", "EmbeddingModel"), settings.MODELS_DIR)


def unregister(apps, schema_editor):
    from webapp.faces.registry import FUSED_CHECKPOINT

    apps.get_model("faces", "EmbeddingModel").objects.filter(checkpoint=FUSED_CHECKPOINT, faces__isnull=True,
                                                            is_active=False).delete()


class Migration(migrations.Migration):
    dependencies = [("faces", "0014_embeddingmodel_grouping")]
    operations = [migrations.RunPython(register, unregister)]

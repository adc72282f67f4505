"""Register the shipped dlib ResNet checkpoint as EmbeddingModel version 1 (active)."""
from django.conf import settings
from django.db import migrations


def register(apps, schema_editor):
    from webapp.faces.registry import register_shipped_model

    register_shipped_model(apps.get_model("faces", "EmbeddingModel"), settings.MODELS_DIR)


def unregister(apps, schema_editor):
    from webapp.faces.registry import SHIPPED_CHECKPOINT

    apps.get_model("faces", "EmbeddingModel").objects.filter(version=1, checkpoint=SHIPPED_CHECKPOINT).delete()


class Migration(migrations.Migration):
    dependencies = [("faces", "0001_initial")]
    operations = [migrations.RunPython(register, unregister)]

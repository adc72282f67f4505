"""Register the shipped dlib ResNet checkpoint as EmbeddingModel version 1 (active)."""
from django.conf import settings
from django.db import migrations

CHECKPOINT = "dlib_resnet_v1.pt"


def register(apps, schema_editor):
    from webapp.faces.registry import checkpoint_fields

    EmbeddingModel = apps.get_model("faces", "EmbeddingModel")
    if EmbeddingModel.objects.filter(version=1).exists():
        return
    fields = checkpoint_fields(settings.MODELS_DIR, CHECKPOINT)
    EmbeddingModel.objects.create(
        version=1,
        name="dlib ResNet (pretrained, converted from @vladmandic/face-api)",
        is_active=not EmbeddingModel.objects.filter(is_active=True).exists(),
        **fields,
    )


def unregister(apps, schema_editor):
    apps.get_model("faces", "EmbeddingModel").objects.filter(version=1, checkpoint=CHECKPOINT).delete()


class Migration(migrations.Migration):
    dependencies = [("faces", "0001_initial")]
    operations = [migrations.RunPython(register, unregister)]

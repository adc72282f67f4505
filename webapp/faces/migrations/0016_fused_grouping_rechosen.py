"""The fused model's grouping settings were chosen again on val (bench/fused_grouping.py,
by the look-alike precision's lower bound: docs/benchmarks.md), so its file's config and
sha256 changed; its registered row takes both from the file. Its weights did not change,
so faces embedded with it keep their vectors."""
from django.conf import settings
from django.db import migrations


def refresh(apps, schema_editor):
    from webapp.faces.registry import FUSED_CHECKPOINT, settings_refresh

    settings_refresh(apps.get_model("faces", "EmbeddingModel"), settings.MODELS_DIR, FUSED_CHECKPOINT)


class Migration(migrations.Migration):
    dependencies = [("faces", "0015_register_fused_dlib_fr_feature")]
    operations = [migrations.RunPython(refresh, migrations.RunPython.noop)]

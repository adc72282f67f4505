"""Each model version keeps what its distances mean; the shipped versions read theirs
from the calibration files beside their weights."""
from django.conf import settings
from django.db import migrations, models


def load(apps, schema_editor):
    from webapp.faces.registry import calibrations_load

    calibrations_load(apps.get_model("faces", "EmbeddingModel"), settings.MODELS_DIR)


class Migration(migrations.Migration):
    dependencies = [("faces", "0006_register_dlib_resnet_v1_mirror")]
    operations = [
        migrations.AddField(model_name="embeddingmodel", name="calibration", field=models.JSONField(blank=True, default=dict)),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]

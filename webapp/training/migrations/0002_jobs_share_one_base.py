"""TrainingRun and ModelSwitch use the shared job base (webapp.core.jobs.Job): the run's
phase becomes its message and its steps its progress, the switch's face counts its
progress; both keep their data."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("training", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="trainingrun", old_name="phase", new_name="message"),
        migrations.AlterField(model_name="trainingrun", name="message", field=models.CharField(blank=True, max_length=300)),
        migrations.RenameField(model_name="trainingrun", old_name="step", new_name="progress_done"),
        migrations.RenameField(model_name="trainingrun", old_name="total_steps", new_name="progress_total"),
        migrations.RenameField(model_name="modelswitch", old_name="faces_done", new_name="progress_done"),
        migrations.RenameField(model_name="modelswitch", old_name="faces_total", new_name="progress_total"),
        migrations.AddField(model_name="modelswitch", name="message", field=models.CharField(blank=True, max_length=300)),
        migrations.AddField(model_name="modelswitch", name="started_at", field=models.DateTimeField(blank=True, null=True)),
        *[migrations.AlterField(model_name=model, name="created_by", field=models.ForeignKey(
            blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL))
          for model in ("trainingrun", "modelswitch")],
        migrations.AlterModelOptions(name="trainingrun", options={"abstract": False, "ordering": ["-created_at", "-id"]}),
        migrations.AlterModelOptions(name="modelswitch", options={"abstract": False, "ordering": ["-created_at", "-id"]}),
    ]

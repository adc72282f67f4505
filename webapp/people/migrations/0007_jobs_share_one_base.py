"""GroupingRun and FaceMap become jobs (webapp.core.jobs.Job): heartbeat, claim times,
error, progress as done/total. Existing rows keep their data: the grouping progress share
becomes percent (0008, 0009), the map's computed_at becomes finished_at."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

STATUS = [("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")]


def job_fields():
    return [
        ("progress_done", models.PositiveIntegerField(default=0)),
        ("progress_total", models.PositiveIntegerField(default=0)),
        ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
        ("started_at", models.DateTimeField(blank=True, null=True)),
        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                         related_name="+", to=settings.AUTH_USER_MODEL)),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("people", "0006_grouping_run"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        *[migrations.AddField(model_name="groupingrun", name=name, field=field) for name, field in job_fields()],
        migrations.AddField(model_name="groupingrun", name="error", field=models.TextField(blank=True)),
        migrations.AlterModelOptions(name="groupingrun", options={"abstract": False, "ordering": ["-created_at", "-id"]}),
        *[migrations.AddField(model_name="facemap", name=name, field=field) for name, field in job_fields()],
        migrations.RenameField(model_name="facemap", old_name="computed_at", new_name="finished_at"),
        migrations.AddField(model_name="facemap", name="message", field=models.CharField(blank=True, max_length=300)),
        migrations.AddField(model_name="facemap", name="created_at",
                            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now),
                            preserve_default=False),
        migrations.AlterField(model_name="facemap", name="status",
                              field=models.CharField(choices=STATUS, default="queued", max_length=10)),
        migrations.AlterModelOptions(name="facemap", options={"abstract": False, "ordering": ["-created_at", "-id"]}),
    ]

"""The grouping run's progress share as percent in progress_done / progress_total; a failed
run's message was its error. Its own migration: PostgreSQL refuses to alter a table (0007's
indexes, 0009's dropped column) in the transaction that updated its rows while their
foreign-key checks are pending."""

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Round


def progress_to_percent(apps, schema_editor):
    GroupingRun = apps.get_model("people", "GroupingRun")
    GroupingRun.objects.update(progress_done=Round(F("progress") * 100), progress_total=100)
    GroupingRun.objects.filter(status="failed").update(error=F("message"))


def percent_to_progress(apps, schema_editor):
    GroupingRun = apps.get_model("people", "GroupingRun")
    GroupingRun.objects.update(progress=F("progress_done") / 100.0)


class Migration(migrations.Migration):

    dependencies = [
        ("people", "0007_jobs_share_one_base"),
    ]

    operations = [
        migrations.RunPython(progress_to_percent, percent_to_progress),
    ]

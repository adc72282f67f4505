"""The grouping run's progress share, copied into progress_done / progress_total by 0008."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("people", "0008_groupingrun_progress_in_percent"),
    ]

    operations = [
        migrations.RemoveField(model_name="groupingrun", name="progress"),
    ]

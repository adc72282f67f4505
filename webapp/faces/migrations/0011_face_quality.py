from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('faces', '0010_kept_names'),
    ]

    operations = [
        migrations.AddField(
            model_name='face',
            name='quality',
            field=models.FloatField(blank=True, null=True),
        ),
    ]

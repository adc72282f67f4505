from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('faces', '0008_network_crop'),
    ]

    operations = [
        migrations.AddField(
            model_name='face',
            name='quality',
            field=models.FloatField(blank=True, null=True),
        ),
    ]

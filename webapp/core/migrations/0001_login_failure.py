import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="LoginFailure",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("username", models.CharField(max_length=150)),
                ("client_ip", models.GenericIPAddressField(blank=True, null=True)),
                ("failed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["username", "failed_at"], name="loginfailure_username"),
                    models.Index(fields=["client_ip", "failed_at"], name="loginfailure_client_ip"),
                    models.Index(fields=["failed_at"], name="loginfailure_failed_at"),
                ],
            },
        ),
    ]

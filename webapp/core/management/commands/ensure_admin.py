"""Create the first admin account if there is none, and say how to sign in."""
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin account on first run (VISAGE_ADMIN_USERNAME / VISAGE_ADMIN_PASSWORD, else generated)."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        username = os.environ.get("VISAGE_ADMIN_USERNAME") or "admin"
        password = os.environ.get("VISAGE_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        credentials = Path(settings.DATA_DIR) / "admin-credentials.txt"
        credentials.parent.mkdir(parents=True, exist_ok=True)
        credentials.write_text(f"username: {username}\npassword: {password}\n")
        credentials.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(
            f"Created admin account — username: {username}  password: {password}  (also saved in {credentials})"
        ))

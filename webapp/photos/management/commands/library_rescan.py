"""Rescan external libraries from the command line: the scan runs in this process, its
photos go to the workers for processing as an upload's do."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from webapp.photos.libraries import scan_execute, scan_start
from webapp.photos.models import Library


class Command(BaseCommand):
    help = "Rescan external libraries (all, one user's, or one by id) and print what each scan found."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="only this user's libraries")
        parser.add_argument("--library", type=int, help="only the library with this id")

    def handle(self, *args, user: str | None, library: int | None, **options):
        chosen = Library.objects.select_related("owner").order_by("pk")
        if user:
            chosen = chosen.filter(owner__username=user)
        if library is not None:
            chosen = chosen.filter(pk=library)
        if not chosen:
            raise CommandError("No such library.")
        failed = 0
        for each in chosen:
            scan = scan_execute(scan_id=scan_start(library=each, queue=False).pk)
            if scan is None:
                self.stdout.write(f"{each.root}: a scan is already running elsewhere")
                continue
            scan.refresh_from_db()
            if scan.has_failed:
                failed += 1
                self.stderr.write(f"{each.root}: {scan.failure}")
                continue
            self.stdout.write(f"{each.root}: {scan.message}")
            for error in scan.errors:
                self.stderr.write(f"  {error['path']}: {error['reason']}")
        if failed:
            raise CommandError(f"{failed} scan(s) failed.")

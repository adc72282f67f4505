"""Write the names confirmed in Visage as MWG face regions in XMP sidecars: next to a
library's files (when VISAGE_LIBRARY_WRITE_SIDECARS allows it) or into a folder given."""
from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from webapp.people.metadata_export import ExportError, album_names_export
from webapp.photos.models import Album


class Command(BaseCommand):
    help = "Export a user's confirmed names of an album or library as XMP sidecars (MWG regions)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True)
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--album", help="the album (by name)")
        where.add_argument("--library", type=int, help="the library with this id")
        parser.add_argument("--out", help="write the sidecars into this folder (needed for an album of uploads)")

    def handle(self, *args, user: str, album: str | None, library: int | None, out: str | None, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user {user!r}.")
        albums = Album.objects.filter(owner=owner)
        chosen = albums.filter(name=album).first() if album is not None else albums.filter(library__pk=library).first()
        if chosen is None:
            raise CommandError("No such album or library.")
        try:
            summary = album_names_export(album=chosen, out_dir=Path(out) if out else None)
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{len(summary.written)} sidecar(s) written.")
        for name, reason in summary.failed.items():
            self.stderr.write(f"  {name}: {reason}")
        if summary.failed and not summary.written:
            raise CommandError("No sidecar could be written.")

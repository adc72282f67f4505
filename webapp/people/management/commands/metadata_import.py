"""Read the face regions (MWG, Microsoft People Tags) of a user's photos again and put the
names onto their faces, as processing does for each new photo; running it twice changes
nothing the second time."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from webapp.people.metadata_import import regions_import_for
from webapp.photos.models import Photo


class Command(BaseCommand):
    help = "Re-read the named face regions in a user's photos (embedded XMP and library sidecars)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--album", help="only this album (by name)")
        where.add_argument("--library", type=int, help="only the library with this id")

    def handle(self, *args, user: str, album: str | None, library: int | None, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user {user!r}.")
        photos = Photo.objects.filter(owner=owner)
        if album is not None:
            photos = photos.filter(album__name=album)
        if library is not None:
            photos = photos.filter(library_id=library)
        if not photos.exists():
            raise CommandError("No such photos.")
        summary = regions_import_for(owner=owner, photos=photos)
        self.stdout.write(
            f"{summary.photos} photo(s) read: {summary.matched} name(s) on their faces ({summary.named} new), "
            f"{summary.unmatched} found no face, {summary.refused} region(s) refused."
        )
        for photo_id, reason in summary.failed.items():
            self.stderr.write(f"  photo {photo_id}: {reason}")

"""Import a folder of photos into an album through the same services as a browser upload.

A command of the people app although it starts with photos: without a worker
(--in-process) it runs the faces app's processing and then groups the faces, and only
people may use both of the apps below it."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from webapp.faces.tasks import photo_process
from webapp.people.grouping import faces_group
from webapp.photos import selectors
from webapp.photos.models import Album
from webapp.photos.services import album_create, photos_enqueue, photo_ingest
from webapp.photos.validation import IMAGE_SUFFIXES


def progress_line(label: str, done: int, total: int, width: int = 30) -> str:
    filled = width if total == 0 else round(width * done / total)
    return f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


class Command(BaseCommand):
    help = "Import every image under FOLDER into an album of USER (created if missing), then process it."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username of the owner")
        parser.add_argument("--album", required=True, help="album name (created if it does not exist)")
        parser.add_argument("--folder", required=True, type=Path)
        parser.add_argument("--limit", type=int, default=None, help="import at most this many files")
        parser.add_argument(
            "--wait", action="store_true", help="wait until the worker has processed every imported photo"
        )
        parser.add_argument(
            "--in-process",
            action="store_true",
            help="run the processing task in this process instead of sending it to a worker",
        )

    def handle(self, *args, user: str, album: str, folder, limit: int | None, wait: bool, in_process: bool, **options):
        folder = Path(folder)
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"No user named {user!r}.")
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        target = Album.objects.filter(owner=owner, name=album).first() or album_create(owner=owner, name=album)
        paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
        if not paths:
            raise CommandError(f"No images (JPEG, PNG, WebP, HEIC) under {folder}.")

        added: list[int] = []
        counts = {"added": 0, "duplicate": 0, "rejected": 0}
        for index, path in enumerate(paths, 1):
            with path.open("rb") as handle:
                outcome = photo_ingest(owner=owner, album=target, source=handle, original_name=str(path.relative_to(folder)))
            counts[outcome.status] += 1
            if outcome.status == "added":
                added.append(outcome.photo_id)
            elif outcome.status == "rejected":
                self.stderr.write(f"\n{outcome.name}: {outcome.message}")
            self.stdout.write(progress_line("Storing  ", index, len(paths)), ending="")
        self.stdout.write(f"\n{counts['added']} added, {counts['duplicate']} duplicates, {counts['rejected']} refused.")

        if in_process:
            self._process_here(owner, added)
        else:
            with transaction.atomic():
                photos_enqueue(photo_ids=added)
            if wait:
                self._wait(target)

    def _process_here(self, owner, photo_ids: list[int]) -> None:
        """The worker's task body run here, then one grouping run (no worker to debounce it)."""
        size = max(1, settings.VISAGE_PROCESS_BATCH_SIZE)
        for start in range(0, len(photo_ids), size):
            photo_process.apply(args=[photo_ids[start : start + size]], kwargs={"schedule_grouping": False}, throw=True)
            self.stdout.write(progress_line("Processing", min(start + size, len(photo_ids)), len(photo_ids)), ending="")
        self.stdout.write("")
        if photo_ids and settings.VISAGE_AUTO_GROUP:
            result = faces_group(owner=owner)
            self.stdout.write(f"Grouped faces: {result.groups} group(s), {result.unsorted_faces} face(s) unsorted.")

    def _wait(self, album: Album) -> None:
        while True:
            progress = selectors.album_progress(album=album)
            self.stdout.write(progress_line("Processing", progress.finished, progress.total), ending="")
            sys.stdout.flush()
            if progress.complete:
                break
            time.sleep(1)
        self.stdout.write(f"\n{progress.done} done, {progress.failed} failed.")

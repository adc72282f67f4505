"""Writes for albums and photos: creating albums, storing uploads, queueing processing."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import BinaryIO, Literal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.db import IntegrityError, transaction

from webapp.photos.models import Album, Photo
from webapp.photos.validation import UploadRejected, inspect_image
from webapp.photos.zipfiles import ZipRejected, iter_zip_entries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    """What became of one uploaded file; shown to the user line by line."""

    name: str
    status: Literal["added", "duplicate", "rejected"]
    message: str = ""
    photo_id: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class AlbumError(ValueError):
    pass


def album_create(*, owner: AbstractBaseUser, name: str) -> Album:
    name = name.strip()
    if not name:
        raise AlbumError("An album needs a name.")
    if len(name) > 200:
        raise AlbumError("Album names are at most 200 characters.")
    return Album.objects.create(owner=owner, name=name)


@transaction.atomic
def photo_delete(*, photo: Photo) -> None:
    """Delete a photo with its faces, then its stored file (through the storage API, so
    local disk and S3 alike).

    The file goes only once the deletion has committed: a rollback keeps both, and a store
    that fails to delete leaves an orphan object (logged), never a row without its file."""
    photo_id, storage, name = photo.pk, photo.file.storage, photo.file.name
    photo.delete()

    def remove_file() -> None:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("photo %s deleted but its file %s was not", photo_id, name)

    transaction.on_commit(remove_file)


def photo_ingest(*, owner: AbstractBaseUser, album: Album, source: BinaryIO, original_name: str) -> FileOutcome:
    """Store one file as a queued Photo, or say why not. Does not enqueue processing."""
    if album.owner_id != owner.pk:
        raise AlbumError("That album belongs to someone else.")
    display_name = PurePosixPath(original_name.replace("\\", "/")).name or "unnamed"
    try:
        facts = inspect_image(source, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS)
    except UploadRejected as exc:
        return FileOutcome(original_name, "rejected", str(exc))

    existing = Photo.objects.filter(owner=owner, content_hash=facts.content_hash).select_related("album").first()
    if existing is not None:
        return FileOutcome(original_name, "duplicate", f"already in album “{existing.album.name}”", existing.pk)

    photo = Photo(
        owner=owner,
        album=album,
        original_name=display_name[:500],
        content_hash=facts.content_hash,
        size_bytes=facts.size_bytes,
        image_format=facts.image_format,
        width=facts.width,
        height=facts.height,
    )
    try:
        # The file name is content-addressed, so a retry after a failed insert reuses it.
        photo.file.save(f"upload.{facts.image_format}", File(source), save=False)
    except OSError as exc:
        logger.exception("could not store upload %s", original_name)
        return FileOutcome(original_name, "rejected", f"could not store the file on the server ({exc.strerror or exc})")
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:
        # The same content arrived concurrently; the other request's row wins.
        winner = Photo.objects.get(owner=owner, content_hash=facts.content_hash)
        return FileOutcome(original_name, "duplicate", "already uploaded", winner.pk)
    return FileOutcome(original_name, "added", "", photo.pk)


def upload_ingest(
    *, owner: AbstractBaseUser, album: Album, files: Iterable[tuple[str, BinaryIO]]
) -> list[FileOutcome]:
    """Store every (name, stream) of one upload; .zip archives are opened and their
    images stored one by one. A bad file never stops the others. Processing of the new
    photos is queued once the rows are committed."""
    outcomes: list[FileOutcome] = []
    for name, stream in files:
        if name.lower().endswith(".zip"):
            outcomes.extend(_zip_ingest(owner=owner, album=album, name=name, stream=stream))
        else:
            outcomes.append(photo_ingest(owner=owner, album=album, source=stream, original_name=name))
    added = [o.photo_id for o in outcomes if o.status == "added" and o.photo_id is not None]
    if added:
        photos_enqueue(photo_ids=added)
    return outcomes


def _zip_ingest(*, owner: AbstractBaseUser, album: Album, name: str, stream: BinaryIO) -> list[FileOutcome]:
    try:
        entries = list(
            iter_zip_entries(
                stream,
                max_entries=settings.VISAGE_MAX_ZIP_ENTRIES,
                max_total_bytes=settings.VISAGE_MAX_ZIP_BYTES,
                max_entry_bytes=settings.VISAGE_MAX_UPLOAD_FILE_BYTES,
            )
        )
    except ZipRejected as exc:
        return [FileOutcome(name, "rejected", str(exc))]
    if not entries:
        return [FileOutcome(name, "rejected", "the archive holds no files")]
    outcomes = []
    for entry in entries:
        label = f"{name}: {entry.name}"
        if entry.stream is None:
            outcomes.append(FileOutcome(label, "rejected", entry.error or "refused"))
            continue
        with entry.stream:
            outcomes.append(photo_ingest(owner=owner, album=album, source=entry.stream, original_name=label))
    return outcomes


def photos_enqueue(*, photo_ids: list[int]) -> None:
    """Queue processing in batches after the surrounding transaction commits.

    If the broker is down the photos simply stay queued; `requeue_photos` (or the next
    upload) sends them again, so an outage never loses an upload."""
    batch_size = max(1, settings.VISAGE_PROCESS_BATCH_SIZE)
    batches = [photo_ids[i : i + batch_size] for i in range(0, len(photo_ids), batch_size)]

    def send() -> None:
        from workers.dispatch import send_quietly
        from workers.tasks import photo_process

        for batch in batches:
            if not send_quietly(photo_process, args=[batch]):
                return  # the rest stay queued too

    transaction.on_commit(send)

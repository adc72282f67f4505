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
from django.utils import timezone

from webapp.core.broker import send_quietly
from webapp.photos.models import Album, Library, Photo
from webapp.photos.signals import photo_deleting
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


# An upload would be stored in Visage's media, not in the folder the album mirrors.
LIBRARY_ALBUM = "this album shows a library folder: add the file to the folder and rescan the library"


def _album_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise AlbumError("An album needs a name.")
    if len(name) > 200:
        raise AlbumError("Album names are at most 200 characters.")
    return name


def album_create(*, owner: AbstractBaseUser, name: str) -> Album:
    return Album.objects.create(owner=owner, name=_album_name(name))


def album_rename(*, album: Album, name: str) -> Album:
    album.name = _album_name(name)
    album.save(update_fields=["name"])
    return album


@transaction.atomic
def album_delete(*, album: Album) -> int:
    """Delete an album with its photos, their faces and stored files (as ``photo_delete``
    does for one). A library's album is refused: removing the library is what forgets it
    (``libraries.library_remove``). Returns how many photos went."""
    if Library.objects.filter(album_id=album.pk).exists():
        raise AlbumError("This album shows a library folder: remove the library instead (its files stay where they are).")
    photos = list(album.photos.defer("thumbnail"))
    afterwards = photos_deleting(photos)
    _files_remove_on_commit(photos)
    album.delete()
    for after in afterwards:
        after()
    return len(photos)


def photos_deleting(photos: Iterable[Photo]) -> list:
    """Send ``photo_deleting`` for each photo before its rows go; the receivers' reactions
    to run once they are gone, one per receiver (the last one it gave): a reaction reads
    the owner's whole library (people's names refresh), so removing an album or a library
    of many photos runs it once, not once a photo."""
    afterwards = {}
    for photo in photos:
        for receiver, after in photo_deleting.send(sender=Photo, photo=photo):
            if after:
                afterwards[receiver] = after
    return list(afterwards.values())


def _files_remove_on_commit(photos: Iterable[Photo]) -> None:
    """The stored uploads of these photos go once their deletion has committed: a rollback
    keeps both, and a store that fails to delete leaves an orphan object (logged), never a
    row without its file. A library photo has no stored file; its file is never touched."""
    stored = [(photo.pk, photo.file.storage, photo.file.name) for photo in photos if photo.file]

    def remove_files() -> None:
        for photo_id, storage, name in stored:
            try:
                storage.delete(name)
            except OSError:
                logger.exception("photo %s deleted but its file %s was not", photo_id, name)

    transaction.on_commit(remove_files)


@transaction.atomic
def photo_delete(*, photo: Photo) -> None:
    """Delete a photo with its faces, then its stored file (through the storage API, so
    local disk and S3 alike). The apps above react through ``photo_deleting`` (people
    recomputes the name suggestions that leaned on its confirmed faces); people emptied
    by it stay in the database but off the people page."""
    if photo.library_id is not None:
        # Its file is the library's, never Visage's to delete, and the next scan would
        # bring the photo back.
        raise AlbumError("This photo belongs to a library folder: remove the file from the folder and rescan.")
    afterwards = photos_deleting([photo])
    _files_remove_on_commit([photo])
    photo.delete()
    for after in afterwards:
        after()


def photo_ingest(*, owner: AbstractBaseUser, album: Album, source: BinaryIO, original_name: str) -> FileOutcome:
    """Store one file as a queued Photo, or say why not. Does not enqueue processing."""
    if album.owner_id != owner.pk:
        raise AlbumError("That album belongs to someone else.")
    if Library.objects.filter(album_id=album.pk).exists():
        return FileOutcome(original_name, "rejected", LIBRARY_ALBUM)
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
        photo.file.save(f"upload.{facts.image_format}", File(source), save=False)
    except OSError as exc:
        # A full disk or a failing store: the row is never written, and the part of the
        # file that did reach the disk goes too.
        logger.exception("could not store upload %s", original_name)
        _discard_unreferenced_files(photo)
        reason = exc.strerror or "the storage refused it"  # not str(exc): it names server paths
        message = f"the server could not store the file ({reason}); nothing was added, try again later"
        return FileOutcome(original_name, "rejected", message)
    try:
        with transaction.atomic():
            photo.save()
    except IntegrityError:
        # The same content arrived concurrently; the other request's row (and file) wins.
        _discard_unreferenced_files(photo)
        winner = Photo.objects.get(owner=owner, content_hash=facts.content_hash, library=None)
        return FileOutcome(original_name, "duplicate", "already uploaded", winner.pk)
    except Exception:
        _discard_unreferenced_files(photo)
        raise
    return FileOutcome(original_name, "added", "", photo.pk)


def _discard_unreferenced_files(photo: Photo) -> None:
    """Delete the file(s) of a photo whose row was not written: what a failed save left on
    disk, or a copy that lost a race. The storage picks the final name (a suffix when the
    name is taken; a store that overwrites shares one name with the winner), so every file
    of this owner and content that no Photo row points at is removed."""
    storage = photo.file.storage
    target = photo.file.field.generate_filename(photo, f"upload.{photo.image_format}")
    folder = str(PurePosixPath(target).parent)
    try:
        _, names = storage.listdir(folder)
    except OSError:
        return  # the folder itself could not be made: nothing was written
    candidates = {f"{folder}/{name}" for name in names if name.startswith(photo.content_hash)}
    referenced = set(Photo.objects.filter(file__in=candidates).values_list("file", flat=True))
    for name in candidates - referenced:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("could not remove the partial file %s", name)


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


# The faces app's task, queued by name: photos imports nothing of the app above it. Not a
# signal: what photos does next depends on the send (a batch is stamped only once sent,
# the first refusal stops the rest, the reconciler reads the queue's backlog first), which
# a broadcast to whoever listens cannot tell it.
PROCESS_TASK = "faces.photo_process"


def photos_enqueue(*, photo_ids: list[int]) -> None:
    """Queue processing in batches after the surrounding transaction commits.

    If the broker is down the photos simply stay queued; the reconciler
    (`webapp.photos.reconcile.photos_requeue_stuck`) sends them again, so an outage never
    loses an upload."""
    transaction.on_commit(lambda: photos_send(photo_ids=photo_ids))


def photos_send(*, photo_ids: list[int]) -> int:
    """Send these photos to `faces.photo_process` now, in batches, and stamp each sent
    batch's `enqueued_at`. Stops at the first batch the broker refuses (the rest stay
    queued too). Returns the number of photos sent."""
    batch_size = max(1, settings.VISAGE_PROCESS_BATCH_SIZE)
    sent = 0
    for start in range(0, len(photo_ids), batch_size):
        batch = photo_ids[start : start + batch_size]
        if not send_quietly(PROCESS_TASK, args=[batch]):
            break
        # Stamped after the send: a photo whose send failed keeps its older stamp and is
        # due for the reconciler sooner.
        Photo.objects.filter(pk__in=batch).update(enqueued_at=timezone.now())
        sent += len(batch)
    return sent

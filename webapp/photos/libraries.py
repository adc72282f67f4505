"""Writes for external libraries: adding a folder under an allowed root, and starting and
carrying out its scans (the scan itself: webapp/photos/library_scan.py)."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from webapp.core.broker import send_quietly
from webapp.core.jobs import Claim, JobHeartbeat, job_claim
from webapp.photos.library_scan import library_scan
from webapp.photos.models import Library, LibraryScan
from webapp.photos.services import album_create, photos_deleting

SCAN_TASK = "photos.library_scan_execute"
NOT_QUEUED = "The scan could not be queued (the task queue is unreachable); try again later."


class LibraryError(ValueError):
    """A folder that cannot become (or stay) a library; the message is shown to the user."""


def library_roots() -> list[Path]:
    """The folders a staff member allowed (VISAGE_LIBRARY_ROOTS), resolved."""
    return [Path(root).resolve() for root in settings.VISAGE_LIBRARY_ROOTS]


def folder_allowed(folder: str | Path) -> Path:
    """``folder`` resolved (links followed, ``..`` gone) if it lies under an allowed root
    and is a folder, else LibraryError. Whether a folder exists is said only under a root,
    so the check reveals nothing about the rest of the server's disk."""
    roots = library_roots()
    if not roots:
        raise LibraryError("This server allows no library folders: an administrator sets VISAGE_LIBRARY_ROOTS.")
    text = str(folder).strip()
    if not text.startswith("/"):
        raise LibraryError("Give the folder's full path, starting with /.")
    resolved = Path(text).resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise LibraryError(f"{text} is not inside a folder allowed for libraries ({', '.join(map(str, roots))}).")
    if not resolved.is_dir():
        raise LibraryError(f"{text} is not a folder on the server.")
    return resolved


def library_create(*, owner: AbstractBaseUser, folder: str) -> Library:
    """Add ``folder`` as a library of ``owner``, shown as an album named after it, and
    start its first scan."""
    root = folder_allowed(folder)
    with transaction.atomic():
        for other in Library.objects.select_for_update().filter(owner=owner):
            other_root = Path(other.root)
            if root.is_relative_to(other_root) or other_root.is_relative_to(root):
                # One file in two libraries would be two photos with the same faces.
                raise LibraryError(f"{root} overlaps your library {other_root}.")
        library = Library.objects.create(owner=owner, root=str(root), album=album_create(owner=owner, name=root.name or str(root)))
        scan_start(library=library, created_by=owner)
    return library


def scan_start(*, library: Library, created_by=None, queue: bool = True) -> LibraryScan:
    """Queue a scan of ``library``; one at a time (a second start returns the open one,
    unless its worker died: then that one fails and a new one starts). ``queue=False``:
    the caller runs it (``scan_execute``) in its own process."""
    with transaction.atomic():
        open_scan = LibraryScan.objects.select_for_update().filter(library=library, status__in=LibraryScan.OPEN).first()
        if open_scan is not None and not open_scan.fail_if_stale():
            return open_scan
        scan = LibraryScan.objects.create(library=library, created_by=created_by)

        def send() -> None:
            if not send_quietly(SCAN_TASK, args=[scan.pk]):
                scan.fail(error=NOT_QUEUED)

        if queue:
            transaction.on_commit(send)
    return scan


@transaction.atomic
def library_remove(*, library: Library) -> int:
    """Forget a library in Visage: its photos with their faces, names and thumbnails (all
    rows of the database), its scans and its album. Nothing in the folder is touched: a
    library photo has no stored copy, and its file is only ever read. Refused while a scan
    runs, which would go on adding photos of the library. Returns how many photos went."""
    library = Library.objects.select_for_update().get(pk=library.pk)
    scan = library.scans.filter(status__in=LibraryScan.OPEN).first()
    if scan is not None and not scan.fail_if_stale():
        raise LibraryError("A scan of this library is running: remove the library once it has finished.")
    photos = list(library.photos.defer("thumbnail"))
    afterwards = photos_deleting(photos)
    library.album.delete()  # takes the library, its scans and photos, and their faces along
    for after in afterwards:
        after()
    return len(photos)


def libraries_rescan() -> int:
    """Beat's periodic rescan: a scan for every library; returns how many were started."""
    return sum(1 for library in Library.objects.all() if scan_start(library=library))


def scan_execute(*, scan_id: int) -> LibraryScan | None:
    """The task body (also the management command's): claim the scan, run it with its
    progress on the row. None when this delivery has nothing to do."""
    claim, scan = job_claim(LibraryScan, scan_id)
    if claim is not Claim.TAKEN:
        return None
    library = scan.library
    root = Path(library.root)
    if not any(root.resolve().is_relative_to(allowed) for allowed in library_roots()) or not root.is_dir():
        # An unmounted disk must not read as "every file deleted": nothing is marked missing.
        scan.fail(error=f"{root} is no longer an allowed, reachable folder; nothing was changed.")
        return scan
    try:
        with JobHeartbeat(scan) as heartbeat:
            result = library_scan(library=library, report=heartbeat.report)
    except Exception as exc:
        scan.fail(error=f"The scan failed: {exc}")
        raise
    scan.finish(message=result.summary, errors=result.errors, **result.counts())
    return scan

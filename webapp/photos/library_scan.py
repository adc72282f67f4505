"""One scan of an external library: the folder's image files compared with its Photo
rows, and the rows brought up to date. Nothing in the folder is ever written.

A file whose size and mtime are those of the last scan is taken as unchanged without being
opened, so a rescan of an unchanged tree costs one stat per file (bench/library_scan.py).
Only the rest is read and hashed:

- same path, same content (touched, or back after it went missing): the row is kept;
- same path, other content: the row takes the new facts and is processed again (the faces
  app gives each new face the person of the old one at the same place);
- a new path whose content is that of a row whose file is gone: the file moved, the row
  follows it with its faces and names;
- any other new path: a new photo;
- a row whose file is gone: marked missing; its faces leave (photo_vanishing), their
  names are kept for when the file returns;
- an unchanged file whose XMP sidecar (``photo.jpg.xmp``, ``photo.xmp``) is newer than the
  last reading of its face regions: the names are read again (photo_sidecars_changed),
  as after tagging in digiKam or Lightroom, without detecting the faces again.

A file that cannot be taken (unreadable, not an image, a link leading outside the folder)
is listed with the reason and never stops the others."""
from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from webapp.photos.face_regions import sidecars_of
from webapp.photos.models import Library, Photo, RegionImport
from webapp.photos.originals import OutsideLibrary, confined
from webapp.photos.services import photos_enqueue
from webapp.photos.signals import photo_sidecars_changed, photo_vanishing
from webapp.photos.validation import IMAGE_SUFFIXES, ImageFacts, UploadRejected, inspect_image

# The page lists this many failed files; the count says how many there were.
MAX_LISTED_ERRORS = 1000
REPORT_EVERY = 200
# New rows are committed in batches: one commit per file would be most of a first scan.
NEW_PER_TRANSACTION = 200


@dataclass
class ScanResult:
    added: int = 0
    changed: int = 0
    moved: int = 0
    returned: int = 0
    vanished: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)
    to_process: list[int] = field(default_factory=list)
    sidecars_changed: list[int] = field(default_factory=list)  # unchanged photos whose sidecar is newer

    def error(self, path: str, reason: str) -> None:
        self.errors.append({"path": path, "reason": reason})

    def counts(self) -> dict:
        return {name: getattr(self, name) for name in ("added", "changed", "moved", "returned", "vanished", "unchanged")}

    @property
    def summary(self) -> str:
        parts = [f"{value} {name}" for name, value in self.counts().items() if value]
        if self.sidecars_changed:
            parts.append(f"names read again from {len(self.sidecars_changed)} changed sidecar(s)")
        if self.errors:
            parts.append(f"{len(self.errors)} not taken")
        return ", ".join(parts) or "the folder holds no photos"


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


def folder_walk(root: Path, result: ScanResult, sidecars: dict[str, int] | None = None) -> dict[str, Seen]:
    """Every image file under ``root`` by relative path, with its size and mtime; the mtime
    of every XMP sidecar goes into ``sidecars`` (by relative path) when given. Folders are
    not followed through links (a link could lead back up, or out); a linked file is
    taken only if it resolves inside ``root``. Hidden entries (``.thumbnails``, ``.Trash``)
    are skipped."""
    seen: dict[str, Seen] = {}
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            result.error(os.path.relpath(folder, root), _reason(exc))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = os.path.relpath(entry.path, root)
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(Path(entry.path))
                    continue
                suffix = Path(entry.name).suffix.lower()
                if suffix == ".xmp" and sidecars is not None and entry.is_file(follow_symlinks=False):
                    sidecars[relative] = entry.stat(follow_symlinks=False).st_mtime_ns
                if suffix not in IMAGE_SUFFIXES:
                    continue
                if entry.is_symlink():
                    confined(root, relative)
                info = entry.stat()
            except OSError as exc:
                result.error(relative, _reason(exc))
                continue
            if not stat.S_ISREG(info.st_mode):
                result.error(relative, "not a regular file")
                continue
            seen[relative] = Seen(info.st_size, info.st_mtime_ns)
    return seen


def _reason(exc: OSError) -> str:
    if isinstance(exc, OutsideLibrary):
        return "a link that leads outside the library's folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, FileNotFoundError):
        return "unreadable: it vanished, or is a link to nothing"
    return f"unreadable: {exc.strerror or exc}"


def _inspect(root: Path, relative: str, result: ScanResult) -> ImageFacts | None:
    try:
        with confined(root, relative).open("rb") as handle:
            return inspect_image(handle, max_pixels=settings.VISAGE_MAX_IMAGE_PIXELS)
    except UploadRejected as exc:
        result.error(relative, str(exc))
    except OSError as exc:
        result.error(relative, _reason(exc))
    return None


def _facts_fields(facts: ImageFacts, seen: Seen) -> dict:
    return {
        "content_hash": facts.content_hash, "size_bytes": facts.size_bytes, "image_format": facts.image_format,
        "width": facts.width, "height": facts.height, "file_mtime_ns": seen.mtime_ns,
    }


def library_scan(*, library: Library, report: Callable[..., None] = lambda **_progress: None) -> ScanResult:
    """Bring ``library``'s rows up to date with its folder and queue the photos that need
    processing; ``report(done=, total=, message=)`` hears about progress."""
    result = ScanResult()
    root = Path(library.root)
    sidecars: dict[str, int] = {}
    files = folder_walk(root, result, sidecars)
    report(done=0, total=len(files), message=f"{len(files)} files found")
    rows = {
        relative: (pk, size, mtime, content_hash, missing)
        for pk, relative, size, mtime, content_hash, missing in library.photos.values_list(
            "pk", "relative_path", "size_bytes", "file_mtime_ns", "content_hash", "missing"
        )
    }
    regions_read_ns = {
        pk: int(read_at.timestamp() * 1e9)
        for pk, read_at in RegionImport.objects.filter(photo__library=library).values_list("photo_id", "read_at")
    } if sidecars else {}
    new: list[str] = []
    for looked_at, (relative, seen) in enumerate(sorted(files.items()), 1):
        if looked_at % REPORT_EVERY == 0:
            report(done=looked_at - len(new))  # the new files count once they are read
        row = rows.get(relative)
        if row is None:
            new.append(relative)
        elif (row[1], row[2]) == (seen.size, seen.mtime_ns) and not row[4]:
            result.unchanged += 1
            if sidecars and _sidecar_newer(relative, sidecars, regions_read_ns.get(row[0])):
                result.sidecars_changed.append(row[0])
        else:
            _recheck(library, root, relative, seen, row, result)

    # What vanished from its path may be among the new paths: a move, known by its content.
    gone: dict[str, list[tuple[int, bool]]] = {}
    for relative, (pk, _size, _mtime, content_hash, missing) in rows.items():
        if relative not in files:
            gone.setdefault(content_hash, []).append((pk, missing))
    done = len(files) - len(new)
    report(done=done)
    for start in range(0, len(new), NEW_PER_TRANSACTION):
        with transaction.atomic():
            for relative in new[start : start + NEW_PER_TRANSACTION]:
                _take_new(library, root, relative, files[relative], gone, result)
                done += 1
                report(done=done)  # each is read whole: worth a report (the heartbeat thread coalesces them)
    for candidates in gone.values():
        for pk, was_missing in candidates:
            if not was_missing:
                photo_mark_missing(photo=Photo.objects.get(pk=pk))
                result.vanished += 1
    report(done=len(files), message=result.summary)
    if result.to_process:
        photos_enqueue(photo_ids=result.to_process)
    if result.sidecars_changed:
        photo_sidecars_changed.send(sender=Photo, photo_ids=result.sidecars_changed)
    del result.errors[MAX_LISTED_ERRORS:]
    return result


def _sidecar_newer(relative: str, sidecars: dict[str, int], read_ns: int | None) -> bool:
    """Whether a sidecar of the image at ``relative`` changed since its regions were read
    (or exists, when they never were)."""
    times = [sidecars[str(path)] for path in sidecars_of(Path(relative)) if str(path) in sidecars]
    return bool(times) and (read_ns is None or max(times) > read_ns)


def _take_new(library: Library, root: Path, relative: str, seen: Seen, gone: dict, result: ScanResult) -> None:
    """A path no row has: a file moved here (its content is that of a row whose file is
    gone), or a new photo."""
    facts = _inspect(root, relative, result)
    if facts is None:
        return
    if gone.get(facts.content_hash):
        pk, was_missing = gone[facts.content_hash].pop()
        Photo.objects.filter(pk=pk).update(
            relative_path=relative, original_name=Path(relative).name[:500], missing=False,
            **_facts_fields(facts, seen), **_requeued(was_missing),
        )
        result.moved += 1
        if was_missing:
            result.to_process.append(pk)
        return
    photo = Photo.objects.create(
        owner_id=library.owner_id, album_id=library.album_id, library=library, relative_path=relative,
        original_name=Path(relative).name[:500], **_facts_fields(facts, seen),
    )
    result.added += 1
    result.to_process.append(photo.pk)


def _requeued(was_missing: bool) -> dict:
    """Processing again is needed only where the faces went (a missing file came back)."""
    return {"status": Photo.Status.QUEUED, "error": ""} if was_missing else {}


def _recheck(library: Library, root: Path, relative: str, seen: Seen, row: tuple, result: ScanResult) -> None:
    """A known path whose size or mtime moved, or that was missing: read it and decide."""
    pk, _size, _mtime, content_hash, was_missing = row
    facts = _inspect(root, relative, result)
    if facts is None:
        return
    if facts.content_hash == content_hash:
        Photo.objects.filter(pk=pk).update(file_mtime_ns=seen.mtime_ns, missing=False, **_requeued(was_missing))
        if was_missing:
            result.returned += 1
            result.to_process.append(pk)
        else:
            result.unchanged += 1
        return
    # New content at a known path: the faces are detected again; the faces app keeps the
    # names of those found at the same place.
    Photo.objects.filter(pk=pk).update(missing=False, **_facts_fields(facts, seen), **_requeued(True))
    result.changed += 1
    result.to_process.append(pk)


@transaction.atomic
def photo_mark_missing(*, photo: Photo) -> None:
    """The photo's file is gone: its faces leave (their names set aside by the faces app,
    see photos.signals.photo_vanishing), the row stays, marked missing."""
    afterwards = [after for _receiver, after in photo_vanishing.send(sender=Photo, photo=photo) if after]
    Photo.objects.filter(pk=photo.pk).update(missing=True)
    for after in afterwards:
        after()

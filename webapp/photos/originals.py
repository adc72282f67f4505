"""Reading a photo's original: the stored upload (through the storage API) or the file
of an external library where it lies, confined to the library's folder.

Everything that reads an original (decoding for faces, the full-size view, its XMP
sidecars) comes here, so the two kinds differ in this module only."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from webapp.photos.face_regions import sidecars_of
from webapp.photos.models import Photo


class OutsideLibrary(PermissionError):
    """A path that resolves (through a symlink or ``..``) outside the folder it must stay in."""


def confined(root: Path, relative: str | Path) -> Path:
    """``root / relative`` resolved, or OutsideLibrary when that leaves ``root``: a symlink
    inside the folder may point elsewhere in it, never out of it."""
    root = Path(root).resolve()
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root):
        raise OutsideLibrary(f"{relative} leads outside {root}")
    return resolved


def photo_open(photo: Photo) -> BinaryIO:
    """The original's bytes, opened for reading. FileNotFoundError when it is gone (a
    deleted upload file, a library file removed since the last scan)."""
    if photo.library_id is None:
        return photo.file.open("rb")
    return _library_file(photo).open("rb")


def _library_file(photo: Photo) -> Path:
    return confined(Path(photo.library.root), photo.relative_path)


def photo_sidecars(photo: Photo) -> list[tuple[str, bytes]]:
    """The XMP sidecars next to a library photo's file (``photo.jpg.xmp``, ``photo.xmp``),
    as (file name, content), confined to the library's folder like the file itself. An
    upload has none: only its own bytes were kept."""
    if photo.library_id is None:
        return []
    found = []
    for path in sidecars_of(_library_file(photo)):
        try:
            found.append((path.name, confined(Path(photo.library.root), path.relative_to(photo.library.root)).read_bytes()))
        except (FileNotFoundError, OutsideLibrary, ValueError):
            continue
    return found


def sidecar_target(photo: Photo) -> Path:
    """Where a library photo's names are written: the sidecar it already has, else
    ``<file>.xmp`` next to it (the name digiKam and darktable use). A sidecar that is a
    link is never written through: the writer replaces the link itself."""
    candidates = sidecars_of(_library_file(photo))
    return next((path for path in candidates if path.is_file() and not path.is_symlink()), candidates[0])

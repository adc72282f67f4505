"""Reading a photo's original: the stored upload (through the storage API) or the file
of an external library where it lies, confined to the library's folder.

Everything that reads an original (decoding for faces, the full-size view) comes here,
so the two kinds differ in this module only."""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

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
    return confined(Path(photo.library.root), photo.relative_path).open("rb")

"""Reading photos out of an uploaded .zip without trusting anything it says.

Entries are copied into temporary files in chunks with a byte cap, so a zip bomb whose
headers lie about sizes stops at the cap; names are only used for messages, but unsafe
ones are refused anyway so nobody mistakes them for accepted files.
"""
from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024
ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst"}
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ")


class ZipRejected(ValueError):
    """The archive as a whole is refused; nothing from it is stored."""


@dataclass
class ZipEntry:
    name: str
    stream: BinaryIO | None  # a temporary file positioned at 0, or None when refused
    error: str | None = None


def _is_metadata(name: str) -> bool:
    """Finder and Explorer droppings (__MACOSX/, ._name, .DS_Store): skipped silently."""
    parts = PurePosixPath(name).parts
    return any(part == "__MACOSX" or part.startswith("._") or part in {".DS_Store", "Thumbs.db"} for part in parts)


def _unsafe_name(name: str) -> bool:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part == ".." for part in name.replace("\\", "/").split("/"))


def iter_zip_entries(
    source: BinaryIO, *, max_entries: int, max_total_bytes: int, max_entry_bytes: int
) -> Iterator[ZipEntry]:
    """Yield each file entry of the archive, extracted or refused with a reason."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipRejected(f"not a valid .zip archive ({exc})") from exc
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > max_entries:
            raise ZipRejected(f"too many files in the archive: {len(members)} (limit {max_entries})")
        declared = sum(info.file_size for info in members)
        if declared > max_total_bytes:
            raise ZipRejected(
                f"archive expands to {declared / 1e6:.0f} MB, over the {max_total_bytes / 1e6:.0f} MB limit"
            )
        for info in members:
            name = info.filename
            if _unsafe_name(name):
                yield ZipEntry(name, None, "refused: unsafe path in archive")
                continue
            if _is_metadata(name):
                continue
            if PurePosixPath(name).suffix.lower() in ARCHIVE_SUFFIXES:
                yield ZipEntry(name, None, "refused: archives inside archives are not accepted")
                continue
            if info.flag_bits & 0x1:
                yield ZipEntry(name, None, "refused: encrypted entry")
                continue
            yield _extract(archive, info, max_entry_bytes)


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_entry_bytes: int) -> ZipEntry:
    target = tempfile.TemporaryFile()
    written = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK_BYTES):
                written += len(chunk)
                if written > max_entry_bytes:
                    target.close()
                    return ZipEntry(info.filename, None, f"too large: over the {max_entry_bytes // (1024 * 1024)} MB limit")
                target.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        target.close()
        return ZipEntry(info.filename, None, f"corrupt entry in archive ({exc})")
    target.seek(0)
    if target.read(8).startswith(ARCHIVE_MAGIC):
        target.close()
        return ZipEntry(info.filename, None, "refused: archives inside archives are not accepted")
    target.seek(0)
    return ZipEntry(info.filename, target)

"""Cheap checks on an uploaded file before it is stored: by content, never by name."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

import pillow_heif
from PIL import Image

from ml.faces.imageio import sniff_image_format

pillow_heif.register_heif_opener()

CHUNK_BYTES = 1024 * 1024
# The names a folder import or a library scan looks at (the content still decides).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})


class UploadRejected(ValueError):
    """A file the user sent that Visage will not store; the message is shown to them."""


@dataclass(frozen=True)
class ImageFacts:
    content_hash: str
    size_bytes: int
    image_format: str
    width: int
    height: int


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """sha256 hex digest and size in bytes, reading in chunks; leaves the stream at 0."""
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def inspect_image(stream: BinaryIO, *, max_pixels: int) -> ImageFacts:
    """Identify the image by its bytes and read its size from the header only.

    Raises UploadRejected with a message for the user. Nothing is decoded, so a
    decompression bomb costs a header read."""
    content_hash, size = hash_stream(stream)
    if size == 0:
        raise UploadRejected("empty file")
    image_format = sniff_image_format(stream.read(64))
    stream.seek(0)
    if image_format is None:
        raise UploadRejected("not an image: expected JPEG, PNG, WebP or HEIC")
    try:
        # Pillow's own bomb guard would raise before we can word the error ourselves.
        saved_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            with Image.open(stream) as image:
                width, height = image.size
        finally:
            Image.MAX_IMAGE_PIXELS = saved_limit
    except Exception as exc:  # Pillow raises many types for unreadable headers
        raise UploadRejected(f"corrupt {image_format.upper()} file: {exc}") from exc
    finally:
        stream.seek(0)
    if width * height > max_pixels:
        raise UploadRejected(
            f"too large: {width}x{height} pixels is over the {max_pixels / 1e6:.0f} megapixel limit"
        )
    return ImageFacts(content_hash, size, image_format, width, height)

"""Test files made on the fly: broken, hostile or unusual inputs next to the real photos,
and what is known of the real photos by looking at them."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def png_bomb(side: int = 30000) -> bytes:
    """A valid greyscale-1-bit PNG of side x side pixels that is about 100 KB on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def truncated_jpeg(source: Path) -> bytes:
    data = source.read_bytes()
    return data[: len(data) // 3]


def landscape_jpeg(width: int = 800, height: int = 500) -> bytes:
    """Sky, hills and grass with noise: a photo with no face in it."""
    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    sky = np.stack([120 + 80 * (1 - y), 170 + 60 * (1 - y), 230 + 0 * y], axis=-1) * np.ones((1, width, 1))
    horizon = 0.55 + 0.08 * np.sin(6 * x)
    ground = np.stack([60 + 40 * y, 130 + 50 * y, 50 + 0 * y], axis=-1) * np.ones((1, width, 1))
    image = np.where((y > horizon)[..., None], ground, sky) + rng.normal(0, 6, (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def heic_from(source: Path) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    with Image.open(source) as image:
        image.convert("RGB").save(buffer, format="HEIF", quality=85)
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# Who is where in the BBT album's group photos, by looking at them: names left to right by
# face centre, "?" = not a character.
BBT_GROUP_PHOTOS = {
    "bbt1.jpg": ["raj", "leonard", "howard", "sheldon"],
    "bbt2.jpg": ["?", "leonard", "sheldon"],
    "bbt3.jpg": ["sheldon", "howard", "penny", "raj", "leonard"],
    "bbt5.jpg": ["raj", "penny", "sheldon", "leonard", "howard"],
}

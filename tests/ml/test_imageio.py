"""Decoding uploads: formats, orientation, size limits and broken files."""
from __future__ import annotations

import io
import struct
import time
import zlib
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from ml.imageio import ImageDecodeError, decode_image, sniff_image_format


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height 1-bit pixels, with one tiny IDAT.

    A few hundred bytes on disk; decoding it for real would need gigabytes, so it
    shows whether the size check happens before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _two_colour(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: makes rotations visible."""
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[:, : width // 2] = (255, 0, 0)
    pixels[:, width // 2 :] = (0, 0, 255)
    return Image.fromarray(pixels)


def test_text_file_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_text("this is a shopping list, not a photo\n" * 20)
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_image(path)


def test_truncated_jpeg_is_rejected(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageDecodeError, match="truncated|corrupt"):
        decode_image(path)


def test_decompression_bomb_fails_fast_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(30_000, 30_000))
    assert path.stat().st_size < 1_000
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match="too large.*60 megapixel limit") as caught:
        decode_image(path)
    assert time.perf_counter() - start < 1.0
    assert "30000" in str(caught.value) or "900000000" in str(caught.value)


def test_pixel_limit_message_names_the_limit(tmp_path):
    # 80 megapixels: under Pillow's own bomb threshold, over ours.
    path = tmp_path / "big.png"
    path.write_bytes(_png_header_only(10_000, 8_000))
    with pytest.raises(ImageDecodeError, match="10000x8000 pixels exceeds the 60 megapixel limit"):
        decode_image(path)
    with pytest.raises(ImageDecodeError, match="exceeds the 50 megapixel limit"):
        decode_image(path, max_pixels=50_000_000)


def test_exif_orientation_6_rotates_and_reports_rotated_size(tmp_path):
    image = _two_colour(200, 100)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    exif.get_ifd(0x8769)[0x9003] = "2021:07:04 12:30:05"
    path = tmp_path / "rotated.jpg"
    image.save(path, format="JPEG", quality=95, exif=exif)

    decoded = decode_image(path)
    assert decoded.pixels.shape == (200, 100, 3)
    assert (decoded.original_width, decoded.original_height) == (100, 200)
    # Clockwise rotation moves the stored left half (red) to the top.
    top, bottom = decoded.pixels[20, 50], decoded.pixels[180, 50]
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert decoded.taken_at == datetime(2021, 7, 4, 12, 30, 5)


def test_large_jpeg_is_downscaled_to_max_side(tmp_path):
    path = tmp_path / "big.jpg"
    _two_colour(4000, 3000).save(path, format="JPEG", quality=80)
    decoded = decode_image(path, max_side=1600)
    assert decoded.pixels.shape == (1200, 1600, 3)
    assert (decoded.original_width, decoded.original_height) == (4000, 3000)
    assert decoded.scale == pytest.approx(0.4)
    full = decode_image(path, max_side=None)
    assert full.pixels.shape == (3000, 4000, 3) and full.scale == 1.0


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    rgb = _two_colour(64, 48)
    if mode == "I;16":
        # 16-bit greyscale PNG (scanners, some editors): values 0..65535.
        image = rgb.convert("L").convert("I").point(lambda v: v * 257).convert("I;16")
    else:
        image = rgb.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    path = tmp_path / f"img.{fmt.lower()}"
    image.save(path, format=fmt)
    decoded = decode_image(path)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.pixels.shape == (48, 64, 3)
    # The two halves stay distinguishable after conversion.
    assert np.abs(decoded.pixels[24, 5].astype(int) - decoded.pixels[24, 58].astype(int)).sum() > 20


def test_heic_round_trip(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "phone.heic"
    _two_colour(320, 240).save(path, format="HEIF", quality=90)
    assert sniff_image_format(path.read_bytes()[:32]) in {"heic", "heif"}
    decoded = decode_image(path)
    assert decoded.pixels.shape == (240, 320, 3)
    left, right = decoded.pixels[120, 40], decoded.pixels[120, 280]
    assert left[0] > 180 and right[2] > 180


def test_decode_from_file_object(tmp_path):
    buffer = io.BytesIO()
    _two_colour(50, 40).save(buffer, format="PNG")
    buffer.seek(0)
    assert decode_image(buffer).pixels.shape == (40, 50, 3)


def test_sniff_image_format():
    def encoded(fmt: str) -> bytes:
        buffer = io.BytesIO()
        _two_colour(8, 8).save(buffer, format=fmt)
        return buffer.getvalue()[:32]

    assert sniff_image_format(encoded("JPEG")) == "jpeg"
    assert sniff_image_format(encoded("PNG")) == "png"
    assert sniff_image_format(encoded("WEBP")) == "webp"
    assert sniff_image_format(encoded("GIF")) == "gif"
    assert sniff_image_format(encoded("BMP")) == "bmp"
    assert sniff_image_format(encoded("TIFF")) == "tiff"
    assert sniff_image_format(b"PK\x03\x04 a zip file") is None
    assert sniff_image_format(b"hello world, plain text") is None
    assert sniff_image_format(b"") is None

"""Decoding uploaded photos into RGB arrays: safely, fast, and the right way up."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_DATETIME = 0x0132
EXIF_IFD = 0x8769


class ImageDecodeError(ValueError):
    """The file cannot be turned into pixels; the message is meant for the user."""


@dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # (H, W, 3) uint8 RGB, EXIF orientation applied, possibly downscaled
    original_width: int  # full resolution, after EXIF rotation
    original_height: int
    scale: float  # pixels.shape[1] / original_width (<= 1)
    taken_at: datetime | None  # EXIF DateTimeOriginal, naive local time of the camera


def sniff_image_format(head: bytes) -> str | None:
    """Image format from the first bytes of a file, or None when it is not an image we take."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"}:
            return "heic"
        if brand in {b"mif1", b"msf1", b"heif"}:
            return "heif"
        return None
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    return None


def _taken_at(image: Image.Image) -> datetime | None:
    try:
        exif = image.getexif()
        raw = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
    except Exception:  # broken EXIF never fails a photo
        return None
    if not raw:
        return None
    try:
        return datetime.strptime(str(raw).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in {"I;16", "I;16B", "I;16L", "I"}:
        array = np.asarray(image, dtype=np.float64)
        array = 255.0 * array / max(1.0, float(array.max()))
        return Image.fromarray(array.astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def decode_image(
    source: str | os.PathLike | BinaryIO, *, max_pixels: int = 60_000_000, max_side: int | None = 1600
) -> DecodedImage:
    """Decode a photo to RGB with EXIF orientation applied, longest side <= max_side.

    The pixel count is checked from the header before any decoding, so a decompression
    bomb costs nothing. Big JPEGs are decoded at 1/2, 1/4 or 1/8 scale (draft mode),
    which is several times faster than decoding at full size and then shrinking.
    Raises ImageDecodeError with a message for the user.
    """
    try:
        image = Image.open(source)
    except UnidentifiedImageError as exc:
        raise ImageDecodeError("not an image, or a format Visage cannot read") from exc
    except Image.DecompressionBombError as exc:
        # Pillow refuses at open() beyond twice its own limit, before we see the size.
        raise ImageDecodeError(
            f"image too large: more pixels than the {max_pixels / 1e6:.0f} megapixel limit ({exc})"
        ) from exc
    except OSError as exc:
        raise ImageDecodeError(f"image is corrupt: {exc}") from exc
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise ImageDecodeError(
                f"image too large: {width}x{height} pixels exceeds the {max_pixels / 1e6:.0f} megapixel limit"
            )
        taken_at = _taken_at(image)
        orientation = image.getexif().get(0x0112, 1) if hasattr(image, "getexif") else 1
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        try:
            if max_side is not None and image.format == "JPEG":
                # draft() picks the smallest 1/2, 1/4, 1/8 scale that keeps BOTH sides >= the
                # request, so ask for the target size of each side, not a square.
                longest = max(image.size)
                image.draft("RGB", (image.size[0] * max_side // longest, image.size[1] * max_side // longest))
            image.load()
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image)
            if max_side is not None and max(image.size) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
            pixels = np.asarray(image, dtype=np.uint8)
        except (OSError, SyntaxError, ValueError) as exc:
            message = str(exc)
            if "truncated" in message.lower():
                raise ImageDecodeError("image is truncated (the file was cut short)") from exc
            raise ImageDecodeError(f"image is corrupt: {message}") from exc
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageDecodeError(f"unsupported pixel layout {pixels.shape}")
    return DecodedImage(
        pixels=np.ascontiguousarray(pixels),
        original_width=width,
        original_height=height,
        scale=pixels.shape[1] / width,
        taken_at=taken_at,
    )

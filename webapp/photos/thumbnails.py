"""JPEG thumbnails kept in the database next to their rows, so a photo and its faces are
written, replaced and deleted in one transaction with nothing left on disk."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

PHOTO_THUMB_SIDE = 480
# Shrink by a whole factor first (box filter) while the image stays at least 1.5 times the
# target, then LANCZOS the rest: half the time of Pillow's default 2.0 on a 1600 px photo
# (15 against 31 ms), a mean difference of 0.26 levels in 255.
REDUCING_GAP = 1.5


def jpeg_bytes(pixels: np.ndarray, *, max_side: int | None = None, quality: int = 85) -> bytes:
    """Encode an (H, W, 3) uint8 RGB array as JPEG, shrunk so its longest side <= max_side."""
    image = Image.fromarray(pixels)
    if max_side is not None and max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()

import io
import time
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from ml.faces.imageio import ImageDecodeError, decode_image, sniff_image_format
from tests.samples import heic_from, png_bomb, truncated_jpeg


def jpeg_bytes(image: Image.Image, **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **save_args)
    return buffer.getvalue()


def test_text_file_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list\n")
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_image(path)


def test_truncated_jpeg_is_reported(albums_dir):
    with pytest.raises(ImageDecodeError, match="truncated|corrupt"):
        decode_image(io.BytesIO(truncated_jpeg(albums_dir / "bbt" / "bbt1.jpg")))


def test_decompression_bomb_fails_fast_without_decoding():
    data = png_bomb(30000)
    assert len(data) < 1_000_000
    start = time.perf_counter()
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_image(io.BytesIO(data), max_pixels=60_000_000)
    assert time.perf_counter() - start < 2.0  # a full decode would allocate 900 MB


def test_exif_orientation_is_applied_and_date_read():
    # A wide image whose EXIF says "rotate 90° clockwise to display": shown tall.
    image = Image.new("RGB", (200, 100), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 20, 100))  # blue stripe on the left edge
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2021:07:14 18:30:05"
    decoded = decode_image(io.BytesIO(jpeg_bytes(image, exif=exif, quality=95)), max_side=None)
    assert decoded.pixels.shape == (200, 100, 3)
    assert (decoded.original_width, decoded.original_height) == (100, 200)
    assert decoded.pixels[5, 50, 2] > 200 and decoded.pixels[195, 50, 0] > 200  # stripe now on top
    assert decoded.taken_at == datetime(2021, 7, 14, 18, 30, 5)


def test_big_jpeg_is_downscaled_to_max_side(albums_dir):
    decoded = decode_image(albums_dir / "friends" / "angelina_jolie.jpg", max_side=800)
    assert max(decoded.pixels.shape[:2]) == 800
    assert (decoded.original_width, decoded.original_height) == (1665, 2048)
    assert decoded.scale == pytest.approx(decoded.pixels.shape[1] / 1665)


def test_heic_decodes(albums_dir):
    decoded = decode_image(io.BytesIO(heic_from(albums_dir / "bbt" / "bbt3.jpg")))
    assert decoded.pixels.shape == (383, 594, 3)
    assert decoded.pixels.mean() > 20


def test_rgba_png_becomes_rgb_on_white():
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    decoded = decode_image(io.BytesIO(buffer.getvalue()))
    assert decoded.pixels.shape == (10, 10, 3)
    assert np.all(decoded.pixels == 255)


@pytest.mark.parametrize(
    "head, expected",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00", "png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "heic"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00", None),  # a video, not a photo
        (b"PK\x03\x04", None),
        (b"hello world", None),
    ],
)
def test_sniff_by_content(head, expected):
    assert sniff_image_format(head) == expected

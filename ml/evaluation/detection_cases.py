"""Photos with hand-drawn face boxes, and harder variants made from them with the boxes moved exactly.

The labels live in ``tests/fixtures/face_boxes.json``: per album photo its size and face
boxes (x0, y0, x1, y1 in pixels of the full-resolution photo after EXIF rotation, with
a note on the hard ones), and a list of variants, each a name, a kind (the column the
bench counts it in), a source photo and a list of operations. A variant is built at
bench time: every operation changes the pixels and moves the boxes the same way, and the
result is written as a JPEG so that it reaches the detector through the upload decoder.
No variant image is ever stored.

Operations (each a JSON list, name first):

- ``["cut", face, side, keep]``: crop the photo so that the frame edge on ``side`` (left,
  right, top, bottom) leaves ``keep`` of that face's width or height inside;
- ``["fill", face, margin]``: crop to that face's box grown by ``margin`` x its size on
  every side (clipped to the photo), so the face fills the frame;
- ``["rotate", degrees]``: turn the pixels 90, 180 or 270 degrees clockwise (no EXIF tag:
  the faces really are sideways or upside down);
- ``["long_side", pixels]`` and ``["megapixels", mp]``: resize;
- ``["exif", orientation]``: store the pixels turned the other way with EXIF orientation
  3, 6 or 8, so that a decoder that honours the tag gets the same picture and boxes back.

A face the frame cuts keeps its visible part as its box; below ``CUT_HARD`` of its area
it counts as hard, below ``CUT_IGNORE`` it becomes an ignored region (a detection there is
neither a hit nor a false alarm), and a face wholly outside is gone.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

CUT_HARD = 0.9
CUT_IGNORE = 0.4
JPEG_QUALITY = 92
# What an EXIF orientation asks a viewer to do, as the clockwise turn of the stored pixels.
EXIF_CLOCKWISE = {3: 180, 6: 90, 8: 270}
_CLOCKWISE_TRANSPOSE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


@dataclass(frozen=True)
class Scene:
    """A picture as a viewer shows it, with its face boxes. ``full_area`` is each face's
    area before any crop, in the current pixel scale, so crops can tell how much of a
    face is left; ``exif`` is the orientation tag the file will carry (1: none)."""

    image: Image.Image
    boxes: np.ndarray  # (N, 4) float64 x0, y0, x1, y1
    hard: tuple[str, ...]  # per face: why it is hard, or ""
    full_area: np.ndarray  # (N,)
    exif: int = 1

    @classmethod
    def of(cls, image: Image.Image, faces: list[dict]) -> "Scene":
        boxes = face_boxes(faces)
        return cls(image, boxes, tuple(f.get("hard", "") for f in faces), box_areas(boxes))


@dataclass(frozen=True)
class Case:
    """One photo of the benchmark, ready to score: the file to decode and what is in it."""

    name: str
    kind: str  # "original" or the variant's kind
    path: Path
    size: tuple[int, int]  # width, height as decoded (after EXIF rotation)
    boxes: np.ndarray  # (N, 4) faces to find
    hard: np.ndarray  # (N,) bool
    ignore: np.ndarray  # (M, 4) regions where a detection does not count either way


def face_boxes(faces: list[dict]) -> np.ndarray:
    return np.array([f["box"] for f in faces], dtype=np.float64).reshape(-1, 4)


def box_areas(boxes: np.ndarray) -> np.ndarray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def crop(scene: Scene, x0: int, y0: int, x1: int, y1: int) -> Scene:
    boxes = scene.boxes - [x0, y0, x0, y0]
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, x1 - x0)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, y1 - y0)
    return replace(scene, image=scene.image.crop((x0, y0, x1, y1)), boxes=boxes)


def cut(scene: Scene, face: int, side: str, keep: float) -> Scene:
    x0, y0, x1, y1 = scene.boxes[face]
    width, height = scene.image.size
    frame = {
        "left": (round(x1 - keep * (x1 - x0)), 0, width, height),
        "right": (0, 0, round(x0 + keep * (x1 - x0)), height),
        "top": (0, round(y1 - keep * (y1 - y0)), width, height),
        "bottom": (0, 0, width, round(y0 + keep * (y1 - y0))),
    }[side]
    return crop(scene, *frame)


def fill(scene: Scene, face: int, margin: float) -> Scene:
    x0, y0, x1, y1 = scene.boxes[face]
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    width, height = scene.image.size
    return crop(scene, max(0, round(x0 - dx)), max(0, round(y0 - dy)),
                min(width, round(x1 + dx)), min(height, round(y1 + dy)))


def rotate_boxes(boxes: np.ndarray, width: int, height: int, clockwise: int) -> np.ndarray:
    """Boxes of a width x height picture after turning it ``clockwise`` degrees."""
    x0, y0, x1, y1 = boxes.T
    turned = {
        90: (height - y1, x0, height - y0, x1),
        180: (width - x1, height - y1, width - x0, height - y0),
        270: (y0, width - x1, y1, width - x0),
    }[clockwise]
    return np.stack(turned, axis=1)


def rotate(scene: Scene, clockwise: int) -> Scene:
    width, height = scene.image.size
    return replace(scene, image=scene.image.transpose(_CLOCKWISE_TRANSPOSE[clockwise]),
                   boxes=rotate_boxes(scene.boxes, width, height, clockwise))


def resize(scene: Scene, width: int, height: int) -> Scene:
    sx, sy = width / scene.image.width, height / scene.image.height
    # Antialiased when shrinking (like an export for the web), bicubic when enlarging.
    method = Image.Resampling.LANCZOS if sx < 1 else Image.Resampling.BICUBIC
    return replace(scene, image=scene.image.resize((width, height), method),
                   boxes=scene.boxes * [sx, sy, sx, sy], full_area=scene.full_area * sx * sy)


def long_side(scene: Scene, pixels: int) -> Scene:
    scale = pixels / max(scene.image.size)
    return resize(scene, round(scene.image.width * scale), round(scene.image.height * scale))


def megapixels(scene: Scene, mp: float) -> Scene:
    scale = math.sqrt(mp * 1e6 / (scene.image.width * scene.image.height))
    return resize(scene, round(scene.image.width * scale), round(scene.image.height * scale))


def exif(scene: Scene, orientation: int) -> Scene:
    if orientation not in EXIF_CLOCKWISE:
        raise ValueError(f"EXIF orientation {orientation} is not a turn (3, 6 or 8)")
    return replace(scene, exif=orientation)


OPERATIONS = {"cut": cut, "fill": fill, "rotate": rotate, "long_side": long_side, "megapixels": megapixels, "exif": exif}


def apply(scene: Scene, operations: list[list]) -> Scene:
    for name, *args in operations:
        if scene.exif != 1:
            raise ValueError("exif must be the last operation: it only says how the file is stored")
        scene = OPERATIONS[name](scene, *args)
    return scene


def write_jpeg(scene: Scene, path: Path) -> None:
    """The scene as a JPEG; with an EXIF orientation the stored pixels are turned back
    so that the tag puts them right again."""
    image = scene.image.convert("RGB")
    if scene.exif == 1:
        image.save(path, quality=JPEG_QUALITY)
        return
    stored = image.transpose(_CLOCKWISE_TRANSPOSE[360 - EXIF_CLOCKWISE[scene.exif]])
    tags = Image.Exif()
    tags[0x0112] = scene.exif
    stored.save(path, quality=JPEG_QUALITY, exif=tags.tobytes())


def to_case(scene: Scene, name: str, kind: str, path: Path) -> Case:
    visible = box_areas(scene.boxes) / np.maximum(scene.full_area, 1e-9)
    face = visible >= CUT_IGNORE
    hard = np.array([bool(why) or share < CUT_HARD for why, share in zip(scene.hard, visible)], dtype=bool)
    ignore = (visible > 0) & ~face
    return Case(name, kind, path, scene.image.size, scene.boxes[face], hard[face], scene.boxes[ignore].reshape(-1, 4))


def load_fixture(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def open_upright(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def build_cases(fixture: dict, albums: Path, out_dir: Path, *, only: set[str] | None = None) -> list[Case]:
    """Every labelled photo (read where it is) and every variant (written to ``out_dir``).
    ``only``: names to keep (photo paths or variant names)."""
    cases = []
    for rel, photo in fixture["photos"].items():
        if only is None or rel in only:
            faces = photo["faces"]
            cases.append(Case(rel, "original", albums / rel, tuple(photo["size"]), face_boxes(faces),
                              np.array([bool(f.get("hard")) for f in faces], dtype=bool), np.zeros((0, 4))))
    for variant in fixture["variants"]:
        if only is not None and variant["name"] not in only:
            continue
        source = fixture["photos"][variant["source"]]
        scene = apply(Scene.of(open_upright(albums / variant["source"]), source["faces"]), variant["ops"])
        path = Path(out_dir) / f"{variant['name']}.jpg"
        write_jpeg(scene, path)
        cases.append(to_case(scene, variant["name"], variant["kind"], path))
    return cases

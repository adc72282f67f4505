"""Named face regions in standard photo metadata, read and written through exiv2 (pyexiv2):
Metadata Working Group regions (``mwg-rs:Regions``: digiKam, Lightroom, Picasa, Immich)
and Microsoft People Tags (``MP:RegionInfo``: Windows Live Photo Gallery), from a photo's
embedded XMP and from its sidecars; MWG regions written into a sidecar or a JPEG copy.

Django-free: boxes come and go as (x0, y0, x1, y1) fractions of the photo as Visage shows
it, EXIF orientation applied. Both standards give areas in the pixels as stored, before
the orientation is applied (so a rotated photo's regions stay right when a viewer turns
it), and this module converts both ways."""
from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyexiv2
from PIL import Image

from ml.faces.boxes import box_iou

Box = tuple[float, float, float, float]

MWG = "Xmp.mwg-rs.Regions"
MWG_ITEM = re.compile(r"^Xmp\.mwg-rs\.Regions/mwg-rs:RegionList\[(\d+)\]/(.+)$")
MP_ITEM = re.compile(r"^Xmp\.MP\.RegionInfo/MPRI:Regions\[(\d+)\]/(.+)$")
# One face tagged twice (embedded and in a sidecar, or in both standards) is one region,
# and the first source's name is the one taken.
SAME_REGION_IOU = 0.5

pyexiv2.set_log_level(3)  # errors raise (a broken packet among them); warnings, muted, would go to stdout


@dataclass(frozen=True)
class NamedRegion:
    name: str
    box: Box  # fractions of the displayed photo
    origin: str  # "embedded MWG", "photo.jpg.xmp MP", ...


@dataclass(frozen=True)
class RefusedRegion:
    name: str
    reason: str
    origin: str

    def as_dict(self) -> dict:
        return {"name": self.name, "reason": self.reason, "origin": self.origin}


@dataclass
class RegionsRead:
    regions: list[NamedRegion]
    refused: list[RefusedRegion]


@dataclass(frozen=True)
class StoredFrame:
    """What the regions of a photo are relative to: its pixels as stored and the EXIF
    orientation that turns them into the photo as shown."""

    width: int
    height: int
    orientation: int = 1

    @property
    def shown_size(self) -> tuple[int, int]:
        return (self.height, self.width) if self.orientation in (5, 6, 7, 8) else (self.width, self.height)


def frame_of(image: bytes) -> StoredFrame:
    """The stored size and EXIF orientation of an image's bytes (header only)."""
    with Image.open(io.BytesIO(image)) as opened:
        orientation = opened.getexif().get(0x0112, 1)
        return StoredFrame(opened.width, opened.height, orientation if orientation in range(1, 9) else 1)


# Where a point (u, v) of the stored pixels lands in the shown photo, per EXIF orientation
# (what PIL.ImageOps.exif_transpose does to the pixels; tests check it against that).
_TO_SHOWN = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (1 - v, u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (v, 1 - u),
}
# Each turn undoes itself, but for the two quarter turns, which undo each other.
_INVERSE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 8, 7: 7, 8: 6}


def _turned(box: Box, orientation: int) -> Box:
    (a, b), (c, d) = _TO_SHOWN[orientation](box[0], box[1]), _TO_SHOWN[orientation](box[2], box[3])
    return (min(a, c), min(b, d), max(a, c), max(b, d))


def stored_to_shown(box: Box, orientation: int) -> Box:
    return _turned(box, orientation)


def shown_to_stored(box: Box, orientation: int) -> Box:
    return _turned(box, _INVERSE[orientation])


class _Refused(ValueError):
    pass


def _fraction_box(x: str, y: str, w: str, h: str, *, centred: bool) -> Box:
    try:
        x, y, w, h = (float(value) for value in (x, y, w, h))
    except (TypeError, ValueError):
        raise _Refused("its area is not four numbers") from None
    if centred:
        x, y = x - w / 2, y - h / 2
    box = (x, y, x + w, y + h)
    tolerance = 1e-3  # editors round centres and sizes separately
    if w <= 0 or h <= 0 or min(box) < -tolerance or max(box) > 1 + tolerance:
        raise _Refused(f"its area ({x:.3f}, {y:.3f}, {w:.3f} x {h:.3f}) is not inside the photo")
    return tuple(min(max(v, 0.0), 1.0) for v in box)


def _items(data: dict, pattern: re.Pattern) -> dict[int, dict[str, str]]:
    items: dict[int, dict[str, str]] = {}
    for key, value in data.items():
        match = pattern.match(key)
        if match:
            items.setdefault(int(match[1]), {})[match[2]] = value if isinstance(value, str) else str(value)
    return dict(sorted(items.items()))


def _mwg_regions(data: dict, frame: StoredFrame, origin: str) -> tuple[list[NamedRegion], list[RefusedRegion]]:
    regions, refused = [], []
    applied = (data.get(f"{MWG}/mwg-rs:AppliedToDimensions/stDim:w"), data.get(f"{MWG}/mwg-rs:AppliedToDimensions/stDim:h"))
    orientation = frame.orientation
    try:
        applied_size = (round(float(applied[0])), round(float(applied[1])))
    except (TypeError, ValueError):
        applied_size = None
    if applied_size and frame.width != frame.height and applied_size == (frame.height, frame.width):
        # Regions applied to the photo as shown (its sides swapped against the stored
        # pixels): some writers turn the photo first. They are in the shown frame already.
        orientation = 1
    for fields in _items(data, MWG_ITEM).values():
        name = " ".join(fields.get("mwg-rs:Name", "").split())
        kind = fields.get("mwg-rs:Type", "Face")
        try:
            if not name:
                raise _Refused("it has no name")
            if kind != "Face":
                raise _Refused(f"it is not a face region (Type={kind})")
            unit = fields.get("mwg-rs:Area/stArea:unit", "normalized")
            if unit != "normalized":
                raise _Refused(f"its area is in {unit!r}, not the 'normalized' unit MWG prescribes")
            box = _fraction_box(*(fields.get(f"mwg-rs:Area/stArea:{k}") for k in "xywh"), centred=True)
        except _Refused as exc:
            refused.append(RefusedRegion(name, str(exc), origin))
            continue
        regions.append(NamedRegion(name, stored_to_shown(box, orientation), origin))
    return regions, refused


def _mp_regions(data: dict, frame: StoredFrame, origin: str) -> tuple[list[NamedRegion], list[RefusedRegion]]:
    regions, refused = [], []
    for fields in _items(data, MP_ITEM).values():
        name = " ".join(fields.get("MPReg:PersonDisplayName", "").split())
        try:
            if not name:
                raise _Refused("it has no name")
            rectangle = fields.get("MPReg:Rectangle")
            if not rectangle:
                raise _Refused("it has no rectangle")
            parts = [part.strip() for part in rectangle.split(",")]
            if len(parts) != 4:
                raise _Refused(f"its rectangle {rectangle!r} is not 'x, y, w, h'")
            box = _fraction_box(*parts, centred=False)
        except _Refused as exc:
            refused.append(RefusedRegion(name, str(exc), origin))
            continue
        regions.append(NamedRegion(name, stored_to_shown(box, frame.orientation), origin))
    return regions, refused


def _read_one(content: bytes, frame: StoredFrame, where: str) -> RegionsRead:
    try:
        opened = pyexiv2.ImageData(content)
        try:
            data = opened.read_xmp()
        finally:
            opened.close()
    except (RuntimeError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        return RegionsRead([], [RefusedRegion("", f"its XMP cannot be read ({reason})", where)])
    mwg, mwg_refused = _mwg_regions(data, frame, f"{where} MWG")
    mp, mp_refused = _mp_regions(data, frame, f"{where} MP")
    return RegionsRead(mwg + mp, mwg_refused + mp_refused)


def sidecars_of(image_path: Path) -> list[Path]:
    """The sidecar names editors use, most specific first: ``photo.jpg.xmp`` (digiKam,
    darktable) and ``photo.xmp`` (Lightroom), either case of the extension."""
    names = [f"{image_path.name}.xmp", f"{image_path.name}.XMP", f"{image_path.stem}.xmp", f"{image_path.stem}.XMP"]
    return [image_path.with_name(name) for name in dict.fromkeys(names)]


def regions_read(image: bytes, sidecars: Iterable[tuple[str, bytes]] = ()) -> RegionsRead:
    """Named face regions of a photo from its sidecars (``(name, content)``), else from its
    embedded XMP: an editor that keeps sidecars writes its latest word there (Visage's
    export too) and may leave older names in the file. A face tagged twice at the same
    place (two sidecars, both standards) counts once, with the first name found."""
    frame = frame_of(image)
    found = RegionsRead([], [])
    said = False
    for where, content in [*sidecars, ("embedded", image)]:
        if where == "embedded" and said:
            break  # a sidecar with regions is the latest word (the names in the file may be older)
        one = _read_one(content, frame, where)
        said = said or bool(one.regions) or any(r.origin != where for r in one.refused)  # regions, not an unreadable file
        found.refused += one.refused
        for region in one.regions:
            if not any(box_iou(other.box, region.box) >= SAME_REGION_IOU for other in found.regions):
                found.regions.append(region)
    return found


def _mwg_fields(regions: Sequence[tuple[str, Box]], frame: StoredFrame) -> dict[str, str]:
    fields = {
        MWG: "type=Struct",
        f"{MWG}/mwg-rs:AppliedToDimensions": "type=Struct",
        f"{MWG}/mwg-rs:AppliedToDimensions/stDim:w": str(frame.width),
        f"{MWG}/mwg-rs:AppliedToDimensions/stDim:h": str(frame.height),
        f"{MWG}/mwg-rs:AppliedToDimensions/stDim:unit": "pixel",
        f"{MWG}/mwg-rs:RegionList": "type=Bag",
    }
    for index, (name, box) in enumerate(regions, start=1):
        x0, y0, x1, y1 = shown_to_stored(box, frame.orientation)
        item = f"{MWG}/mwg-rs:RegionList[{index}]"
        fields |= {
            item: "type=Struct",
            f"{item}/mwg-rs:Name": name,
            f"{item}/mwg-rs:Type": "Face",
            f"{item}/mwg-rs:Area": "type=Struct",
            f"{item}/mwg-rs:Area/stArea:x": f"{(x0 + x1) / 2:.6f}",
            f"{item}/mwg-rs:Area/stArea:y": f"{(y0 + y1) / 2:.6f}",
            f"{item}/mwg-rs:Area/stArea:w": f"{x1 - x0:.6f}",
            f"{item}/mwg-rs:Area/stArea:h": f"{y1 - y0:.6f}",
            f"{item}/mwg-rs:Area/stArea:unit": "normalized",
        }
    return fields


def _carried_over(data: dict, frame: StoredFrame, seen: Sequence[Box] | None, same_face_iou: float) -> list[dict[str, str]]:
    """The MWG regions already in ``data`` that an export keeps, as their fields (the keys
    under ``RegionList[i]/``): regions that are not faces (a pet, a focus area), and faces
    that overlap none of the photo's detected faces (``seen``, fractions of the shown
    photo), which Visage never had a word on, such as a face its detector missed. Only the
    faces Visage found take Visage's word: its name, or none. ``seen`` None: every face is
    Visage's."""
    kept = []
    for fields in _items(data, MWG_ITEM).values():
        if fields.get("mwg-rs:Type", "Face") != "Face":
            kept.append(fields)
            continue
        if seen is None:
            continue
        try:
            box = stored_to_shown(_fraction_box(*(fields.get(f"mwg-rs:Area/stArea:{k}") for k in "xywh"), centred=True),
                                  frame.orientation)
        except _Refused:
            kept.append(fields)  # not Visage's to judge
            continue
        if not any(box_iou(box, face) >= same_face_iou for face in seen):
            kept.append(fields)
    return kept


def _carried_fields(kept: Sequence[dict[str, str]], first_index: int) -> dict[str, str]:
    """``kept`` regions written again, as they were, from ``RegionList[first_index]`` on."""
    fields = {}
    for index, region in enumerate(kept, start=first_index):
        item = f"{MWG}/mwg-rs:RegionList[{index}]"
        fields[item] = "type=Struct"
        for key, value in region.items():  # in document order: a struct or array before its members
            fields[f"{item}/{key}"] = value.replace('"', "") if value.startswith('type="') else value
    return fields


def _regions_replaced(content: bytes, regions: Sequence[tuple[str, Box]], frame: StoredFrame,
                      kept: Sequence[dict[str, str]] = ()) -> bytes:
    """``content`` (an image or an XMP packet) with its MWG regions, and only those,
    replaced by ``regions`` and the ``kept`` ones (_carried_over) after them."""
    opened = pyexiv2.ImageData(content)
    try:
        data = opened.read_xmp()
        stale = [key for key in data if key == MWG or key.startswith(f"{MWG}/")]
        if stale:
            opened.modify_xmp({key: None for key in reversed(stale)})  # members before their struct
            if not regions and not kept and not opened.read_xmp():
                opened.clear_xmp()  # exiv2 writes no empty packet over a full one: drop the packet
        if regions or kept:
            opened.modify_xmp(_mwg_fields(regions, frame) | _carried_fields(kept, len(regions) + 1))
        return opened.get_bytes()
    finally:
        opened.close()


def _xmp_of(content: bytes) -> dict:
    opened = pyexiv2.ImageData(content)
    try:
        return opened.read_xmp()
    finally:
        opened.close()


def _has_regions(content: bytes) -> bool:
    return any(key.startswith(MWG) for key in _xmp_of(content))


def _blank_packet() -> bytes:
    """A new XMP packet as exiv2 writes one, saying which tool made it: the packet of a
    tiny JPEG given that one property."""
    carrier = io.BytesIO()
    Image.new("RGB", (1, 1)).save(carrier, format="JPEG")
    opened = pyexiv2.ImageData(carrier.getvalue())
    try:
        opened.modify_xmp({"Xmp.xmp.CreatorTool": "Visage"})
        return opened.read_raw_xmp().encode("utf-8")
    finally:
        opened.close()


def sidecar_with_regions(regions: Sequence[tuple[str, Box]], frame: StoredFrame, existing: bytes | None = None, *,
                         seen: Sequence[Box] | None = None, same_face_iou: float = 1.0) -> bytes:
    """The bytes of an XMP sidecar holding ``regions`` as MWG regions: ``existing`` (a
    sidecar already there) with only its MWG regions replaced, keeping those that are not
    faces and, given the photo's detected faces (``seen``), the faces none of them
    overlaps by ``same_face_iou``; else a new one."""
    if existing:
        kept = _carried_over(_xmp_of(existing), frame, seen, same_face_iou)
        replaced = _regions_replaced(existing, regions, frame, kept)
        if regions or kept or not _has_regions(replaced):
            return replaced
        # A sidecar of nothing but regions, all gone: exiv2 keeps a sidecar's old packet
        # rather than write an empty one, so a new one replaces it.
    return _regions_replaced(_blank_packet(), regions, frame)


def jpeg_with_regions(image: bytes, regions: Sequence[tuple[str, Box]], *, seen: Sequence[Box] | None = None,
                      same_face_iou: float = 1.0) -> bytes:
    """A copy of a JPEG's bytes with ``regions`` embedded as MWG regions (the ones already
    there kept as sidecar_with_regions keeps them); the pixel data is copied as it is,
    never re-encoded."""
    frame = frame_of(image)
    return _regions_replaced(image, regions, frame, _carried_over(_xmp_of(image), frame, seen, same_face_iou))

"""Face regions in photo metadata (webapp/photos/face_regions.py), without a database: the
hand-written real-world files of each standard, regions the module writes itself (pyexiv2)
read back, orientation checked against Pillow's own turning of the pixels, the original's
bytes untouched by a sidecar, and bad regions refused with their reason."""
from __future__ import annotations

import io

import numpy as np
import pyexiv2
import pytest
from PIL import Image, ImageOps

from tests.conftest import FIXTURES
from webapp.photos.face_regions import (
    StoredFrame, frame_of, jpeg_with_regions, regions_read, shown_to_stored, sidecar_with_regions, sidecars_of,
    stored_to_shown,
)

# bbt2.jpg (675 x 469): Leonard and Sheldon, boxed by hand (tests/fixtures/face_boxes.json).
LEONARD = (85 / 675, 110 / 469, 180 / 675, 228 / 469)
SHELDON = (380 / 675, 120 / 469, 470 / 675, 225 / 469)


@pytest.fixture(scope="module")
def bbt2(albums_dir) -> bytes:
    return (albums_dir / "bbt" / "bbt2.jpg").read_bytes()


def names_and_boxes(found):
    return [(r.name, pytest.approx(r.box, abs=1e-4)) for r in found.regions]


@pytest.mark.parametrize("fixture", ["bbt2_digikam_mwg.jpg.xmp", "bbt2_lightroom_mwg.xmp", "bbt2_wlpg_mp.xmp"])
def test_real_world_sidecars_of_each_standard(bbt2, fixture):
    found = regions_read(bbt2, [(fixture, (FIXTURES / "xmp" / fixture).read_bytes())])
    assert names_and_boxes(found) == [("Leonard", LEONARD), ("Sheldon", SHELDON)]
    assert found.refused == []
    assert found.regions[0].origin == f"{fixture} {'MP' if '_mp.' in fixture else 'MWG'}"


def test_people_tags_embedded_by_pyexiv2_are_read(bbt2):
    opened = pyexiv2.ImageData(bbt2)
    base = "Xmp.MP.RegionInfo/MPRI:Regions"
    fields = {"Xmp.MP.RegionInfo": "type=Struct", base: "type=Bag"}
    for index, (name, (x0, y0, x1, y1)) in enumerate([("Leonard", LEONARD), ("Sheldon", SHELDON)], start=1):
        fields |= {f"{base}[{index}]": "type=Struct", f"{base}[{index}]/MPReg:PersonDisplayName": name,
                   f"{base}[{index}]/MPReg:Rectangle": f"{x0:.6f}, {y0:.6f}, {x1 - x0:.6f}, {y1 - y0:.6f}"}
    opened.modify_xmp(fields)
    tagged = opened.get_bytes()
    opened.close()
    assert names_and_boxes(regions_read(tagged)) == [("Leonard", LEONARD), ("Sheldon", SHELDON)]


def test_a_sidecar_written_leaves_the_photo_alone_and_keeps_the_rest_of_an_existing_one(bbt2, tmp_path):
    photo = tmp_path / "bbt2.jpg"
    photo.write_bytes(bbt2)
    frame = frame_of(photo.read_bytes())
    existing = (FIXTURES / "xmp" / "bbt2_digikam_mwg.jpg.xmp").read_bytes()
    sidecar = sidecars_of(photo)[0]
    sidecar.write_bytes(sidecar_with_regions([("Leonard Hofstadter", LEONARD)], frame, existing))

    assert photo.read_bytes() == bbt2
    assert sidecar.name == "bbt2.jpg.xmp"
    found = regions_read(bbt2, [(sidecar.name, sidecar.read_bytes())])
    assert names_and_boxes(found) == [("Leonard Hofstadter", LEONARD)]  # only the regions were replaced…
    kept = pyexiv2.Image(str(sidecar))
    assert kept.read_xmp()["Xmp.digiKam.TagsList"] == ["People/Leonard", "People/Sheldon"]  # …the rest is as it was
    assert kept.read_xmp()["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"] == "675"
    kept.close()
    # A new sidecar holds the regions alone.
    fresh = sidecar_with_regions([("Sheldon", SHELDON)], frame)
    assert names_and_boxes(regions_read(bbt2, [("new.xmp", fresh)])) == [("Sheldon", SHELDON)]


def test_a_jpeg_copy_carries_the_regions_and_the_same_pixels(bbt2):
    copy = jpeg_with_regions(bbt2, [("Leonard", LEONARD), ("Sheldon", SHELDON)])
    assert names_and_boxes(regions_read(copy)) == [("Leonard", LEONARD), ("Sheldon", SHELDON)]
    assert regions_read(bbt2).regions == []  # the bytes given were not changed
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(copy))), np.asarray(Image.open(io.BytesIO(bbt2))))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_stored_areas_turn_as_pillow_turns_the_pixels(orientation):
    """A bright block at a known place of the stored pixels: where exif_transpose puts it
    is where stored_to_shown says, and shown_to_stored brings it back."""
    stored = np.zeros((60, 100, 3), np.uint8)
    stored[10:20, 70:90] = 255  # x 0.70-0.90, y 0.1667-0.3333 of the stored pixels
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(buffer, format="PNG", exif=exif)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buffer.getvalue()))))[..., 0]
    ys, xs = np.nonzero(shown > 128)
    height, width = shown.shape
    seen = (xs.min() / width, ys.min() / height, (xs.max() + 1) / width, (ys.max() + 1) / height)
    box = (0.70, 10 / 60, 0.90, 20 / 60)
    assert stored_to_shown(box, orientation) == pytest.approx(seen, abs=1e-6)
    assert shown_to_stored(stored_to_shown(box, orientation), orientation) == pytest.approx(box)
    assert frame_of(buffer.getvalue()) == StoredFrame(100, 60, orientation)


def test_a_rotated_photo_keeps_its_regions_in_the_stored_frame(bbt2):
    """bbt2 stored turned a quarter (as a camera held upright stores it) with EXIF
    orientation 6: the file's MWG areas are in the stored pixels, Visage's boxes in the shown ones."""
    stored = Image.open(io.BytesIO(bbt2)).transpose(Image.Transpose.ROTATE_90)  # undone by orientation 6
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=92, exif=exif)
    rotated = jpeg_with_regions(buffer.getvalue(), [("Leonard", LEONARD)])

    assert names_and_boxes(regions_read(rotated)) == [("Leonard", LEONARD)]
    opened = pyexiv2.ImageData(rotated)
    area = {k.rsplit(":", 1)[1]: float(v) for k, v in opened.read_xmp().items() if "/mwg-rs:Area/stArea:" in k and k[-1] != "t"}
    dims = opened.read_xmp()["Xmp.mwg-rs.Regions/mwg-rs:AppliedToDimensions/stDim:w"]
    opened.close()
    # Turned back by hand: shown (x, y) came from stored (y, 1 - x).
    x0, y0, x1, y1 = LEONARD
    assert area == pytest.approx({"x": (y0 + y1) / 2, "y": 1 - (x0 + x1) / 2, "w": y1 - y0, "h": x1 - x0}, abs=1e-5)
    assert dims == "469"  # the stored width: the shown photo's height


def test_regions_applied_to_the_shown_photo_are_taken_as_they_are(bbt2):
    """A writer that turned the photo first says so by AppliedToDimensions of the shown size."""
    stored = Image.open(io.BytesIO(bbt2)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", exif=exif)
    shown_frame = StoredFrame(675, 469, 1)  # as if there were no turn
    sidecar = sidecar_with_regions([("Leonard", LEONARD)], shown_frame)
    assert names_and_boxes(regions_read(buffer.getvalue(), [("x.xmp", sidecar)])) == [("Leonard", LEONARD)]


def regions_file(bbt2, items) -> bytes:
    opened = pyexiv2.ImageData(bbt2)
    base = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
    fields = {"Xmp.mwg-rs.Regions": "type=Struct", base: "type=Bag"}
    for index, item in enumerate(items, start=1):
        fields[f"{base}[{index}]"] = "type=Struct"
        fields[f"{base}[{index}]/mwg-rs:Area"] = "type=Struct"
        fields |= {f"{base}[{index}]/{key}": value for key, value in item.items()}
    opened.modify_xmp(fields)
    try:
        return opened.get_bytes()
    finally:
        opened.close()


def area(x, y, w, h, unit="normalized"):
    return {"mwg-rs:Area/stArea:x": str(x), "mwg-rs:Area/stArea:y": str(y), "mwg-rs:Area/stArea:w": str(w),
            "mwg-rs:Area/stArea:h": str(h), "mwg-rs:Area/stArea:unit": unit}


def test_bad_regions_are_refused_with_their_reason(bbt2):
    tagged = regions_file(bbt2, [
        {"mwg-rs:Name": "Leonard", "mwg-rs:Type": "Face", **area(0.2, 0.36, 0.14, 0.25)},
        {"mwg-rs:Name": "Ghost", "mwg-rs:Type": "Face", **area(1.2, 0.5, 0.1, 0.1)},
        {"mwg-rs:Type": "Face", **area(0.6, 0.4, 0.1, 0.1)},
        {"mwg-rs:Name": "Rex", "mwg-rs:Type": "Pet", **area(0.5, 0.5, 0.1, 0.1)},
        {"mwg-rs:Name": "Pixels", "mwg-rs:Type": "Face", **area(300, 200, 50, 50, unit="pixel")},
        {"mwg-rs:Name": "Half", "mwg-rs:Type": "Face", "mwg-rs:Area/stArea:x": "0.5"},
    ])
    found = regions_read(tagged, [("broken.xmp", b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF")])
    assert [r.name for r in found.regions] == ["Leonard"]
    reasons = {r.name: r.reason for r in found.refused if r.name}
    assert reasons["Ghost"] == "its area (1.150, 0.450, 0.100 x 0.100) is not inside the photo"
    assert [(r.origin, r.reason.split(" (")[0]) for r in found.refused if not r.name] == [
        ("broken.xmp", "its XMP cannot be read"), ("embedded MWG", "it has no name")]
    assert reasons["Rex"] == "it is not a face region (Type=Pet)"
    assert reasons["Pixels"] == "its area is in 'pixel', not the 'normalized' unit MWG prescribes"
    assert reasons["Half"] == "its area is not four numbers"


def test_a_sidecar_with_regions_overrides_the_names_embedded(bbt2):
    embedded = jpeg_with_regions(bbt2, [("Leonard", LEONARD), ("Sheldon", SHELDON)])
    sidecar = sidecar_with_regions([("Leonard Hofstadter", LEONARD)], frame_of(bbt2))
    found = regions_read(embedded, [("bbt2.jpg.xmp", sidecar)])
    assert [(r.name, r.origin) for r in found.regions] == [("Leonard Hofstadter", "bbt2.jpg.xmp MWG")]
    assert [r.name for r in regions_read(embedded, [("other.xmp", sidecar_with_regions([], frame_of(bbt2)))]).regions] == ["Leonard", "Sheldon"]


def test_one_face_in_both_standards_counts_once(bbt2):
    both = (FIXTURES / "xmp" / "bbt2_wlpg_mp.xmp").read_bytes()
    found = regions_read(bbt2, [("bbt2.xmp", (FIXTURES / "xmp" / "bbt2_lightroom_mwg.xmp").read_bytes()), ("bbt2.jpg.xmp", both)])
    assert [(r.name, r.origin) for r in found.regions] == [("Leonard", "bbt2.xmp MWG"), ("Sheldon", "bbt2.xmp MWG")]


def test_an_export_keeps_the_regions_visage_never_had_a_word_on(bbt2):
    """Into an existing sidecar (digiKam's Leonard and Sheldon, plus a face Visage's
    detector did not find and a pet), with Visage's faces at Leonard and Sheldon: Visage's
    word replaces its own faces' regions (Leonard renamed, Sheldon unnamed there: dropped),
    the other face and the pet stay as they were written."""
    opened = pyexiv2.ImageData((FIXTURES / "xmp" / "bbt2_digikam_mwg.jpg.xmp").read_bytes())
    base = "Xmp.mwg-rs.Regions/mwg-rs:RegionList"
    for index, (name, kind, x) in enumerate([("Howard", "Face", "0.900000"), ("Rex", "Pet", "0.500000")], start=3):
        item = f"{base}[{index}]"
        opened.modify_xmp({item: "type=Struct", f"{item}/mwg-rs:Name": name, f"{item}/mwg-rs:Type": kind,
                           f"{item}/mwg-rs:Area": "type=Struct", f"{item}/mwg-rs:Area/stArea:x": x,
                           f"{item}/mwg-rs:Area/stArea:y": "0.100000", f"{item}/mwg-rs:Area/stArea:w": "0.080000",
                           f"{item}/mwg-rs:Area/stArea:h": "0.100000", f"{item}/mwg-rs:Area/stArea:unit": "normalized"})
    existing = opened.get_bytes()
    opened.close()
    frame = frame_of(bbt2)

    written = sidecar_with_regions([("Leonard Hofstadter", LEONARD)], frame, existing, seen=[LEONARD, SHELDON], same_face_iou=0.4)
    found = regions_read(bbt2, [("bbt2.jpg.xmp", written)])
    assert [region.name for region in found.regions] == ["Leonard Hofstadter", "Howard"]
    assert [(r.name, r.reason) for r in found.refused] == [("Rex", "it is not a face region (Type=Pet)")]
    howard = found.regions[1].box
    assert np.allclose(howard, (0.86, 0.05, 0.94, 0.15), atol=1e-6)  # as the other program wrote it
    # Without the detected faces given, every face region is Visage's to write (a fixture).
    assert [r.name for r in regions_read(bbt2, [("x.xmp", sidecar_with_regions([], frame, existing))]).regions] == []

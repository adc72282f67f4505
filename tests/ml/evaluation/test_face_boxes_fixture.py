"""tests/fixtures/face_boxes.json is well-formed and matches the photos it labels."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from ml.evaluation.detection_cases import OPERATIONS, build_cases, load_fixture
from ml.faces.imageio import decode_image

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KINDS = {"cut", "fill", "exif", "turned", "320 px", "12 MP"}


@pytest.fixture(scope="module")
def fixture() -> dict:
    return load_fixture(FIXTURES / "face_boxes.json")


def test_every_album_photo_is_labelled(fixture, albums_dir):
    photos = {p.relative_to(albums_dir).as_posix() for p in albums_dir.rglob("*")
              if p.suffix.lower() in {".jpg", ".jpeg", ".png"} and "characters" not in p.parts}
    assert photos == set(fixture["photos"])


def test_sizes_are_the_upright_photo_and_boxes_lie_inside_it(fixture, albums_dir):
    for rel, photo in fixture["photos"].items():
        with Image.open(albums_dir / rel) as image:
            assert list(ImageOps.exif_transpose(image).size) == photo["size"], rel
        width, height = photo["size"]
        assert photo["faces"], rel
        for face in photo["faces"]:
            x0, y0, x1, y1 = face["box"]
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (rel, face)
            assert min(x1 - x0, y1 - y0) >= 20, (rel, face)
            assert set(face) <= {"box", "hard"} and face.get("hard", "x"), (rel, face)


def test_labelled_faces_agree_with_the_counts_by_eye(fixture):
    counts = json.loads((FIXTURES / "face_counts.json").read_text())
    counts.pop("_comment")
    labelled = {rel: len(fixture["photos"][rel]["faces"]) for rel in counts}
    assert labelled == counts


def test_variants_are_many_of_every_kind_and_name_labelled_faces(fixture):
    variants = fixture["variants"]
    assert len(variants) >= 20
    assert len({v["name"] for v in variants}) == len(variants)
    assert {v["kind"] for v in variants} == KINDS
    for variant in variants:
        faces = fixture["photos"][variant["source"]]["faces"]
        for name, *args in variant["ops"]:
            assert name in OPERATIONS, variant["name"]
            if name in {"cut", "fill"}:
                assert 0 <= args[0] < len(faces), variant["name"]


def test_every_variant_decodes_upright_at_its_labelled_size_with_a_face(fixture, albums_dir, tmp_path):
    names = {v["name"] for v in fixture["variants"]}
    cases = build_cases(fixture, albums_dir, tmp_path, only=names)
    assert {c.name for c in cases} == names
    for case in cases:
        decoded = decode_image(case.path, max_side=1600)
        assert (decoded.original_width, decoded.original_height) == case.size, case.name
        assert len(case.boxes) >= 1, case.name
        assert ((case.boxes[:, 2:] <= case.size) & (case.boxes[:, :2] >= 0)).all(), case.name

"""Choosing one face of an image by its box: the largest, or the one nearest the centre."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from ml.faces.boxes import box_iou, boxes_match, central_face, largest_face


@dataclass
class Box:
    name: str
    box: tuple[float, float, float, float]


# A 400 x 300 image: a big face at the left edge, a smaller one in the middle.
EDGE = Box("edge", (0.0, 50.0, 160.0, 250.0))  # 160 x 200, centre (80, 150)
MIDDLE = Box("middle", (170.0, 100.0, 250.0, 200.0))  # 80 x 100, centre (210, 150)
CORNER = Box("corner", (350.0, 0.0, 400.0, 60.0))  # 50 x 60, centre (375, 30)


def test_largest_face_is_the_one_with_the_largest_box_area():
    assert largest_face([MIDDLE, EDGE, CORNER]).name == "edge"
    assert largest_face([CORNER, MIDDLE]).name == "middle"


def test_central_face_is_the_one_nearest_the_image_centre_whatever_its_size():
    assert central_face([EDGE, MIDDLE, CORNER], 400, 300).name == "middle"
    # Centre (200, 150): the edge face is 120 px away, the corner face 213.6 px.
    assert central_face([CORNER, EDGE], 400, 300).name == "edge"


def test_a_single_face_is_chosen_and_no_face_is_an_error():
    assert central_face([CORNER], 400, 300) is CORNER
    assert largest_face([CORNER]) is CORNER
    with pytest.raises(ValueError):
        largest_face([])


def test_the_detectors_faces_are_accepted(ml_detector, ml_albums):
    from ml.faces.imageio import decode_image

    image = decode_image(ml_albums / "friends" / "multiface.jpg", max_side=1600)
    faces = ml_detector.detect(image.pixels)
    areas = [(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]) for f in faces]
    assert len(faces) == 6
    assert largest_face(faces) is faces[areas.index(max(areas))]
    height, width = image.pixels.shape[:2]
    offsets = [((f.box[0] + f.box[2]) / 2 - width / 2) ** 2 + ((f.box[1] + f.box[3]) / 2 - height / 2) ** 2 for f in faces]
    assert central_face(faces, width, height) is faces[offsets.index(min(offsets))]


def test_box_iou_is_one_for_the_same_box_and_zero_apart():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == 50 / 150


def test_boxes_match_pairs_each_face_once_by_overlap_and_leaves_strangers_out():
    before = [(0, 0, 10, 10), (100, 0, 110, 10), (200, 0, 210, 10)]
    after = [(101, 1, 111, 11), (1, 0, 11, 10), (0, 0, 9, 10), (300, 0, 310, 10)]
    # The closest of two candidates wins the first box; the far face and the new face stay unpaired.
    assert sorted(boxes_match(before, after, 0.5)) == [(0, 2), (1, 0)]
    assert boxes_match(before, after, 0.99) == []

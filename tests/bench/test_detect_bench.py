"""bench/detect.py runs end to end on a few photos and prints its tables."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_bench_scores_an_album_photo_and_its_variants(albums_dir):
    env = {**os.environ, "FACES_DATA_DIR": str(albums_dir.parent)}
    env.pop("DATABASE_URL", None)  # the bench must not need a database
    run = subprocess.run(
        [sys.executable, "bench/detect.py", "--detectors", "one pass", "current", "--misses",
         "--only", "bbt/bbt3.jpg", "bbt3_cut_left", "bbt3_rot90"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("3 photos (1 album photos, the rest variants), 15 faces (1 hard)")
    assert "| original (5) | cut (5) | turned (5) |" in run.stdout
    # Both find every face of the upright photo: the kinds column reads 1.000 first.
    assert any(line.startswith("| one pass | 1.000 |") for line in lines), run.stdout
    assert any(line.startswith("| current | 1.000 |") for line in lines), run.stdout
    assert any(line.startswith("| current | ") and "/15) |" in line for line in lines), run.stdout
    # The single pass misses faces of the photo turned without EXIF; the worker's detector,
    # which also runs on turned copies, misses only the half face cut by the frame.
    misses = {line.split()[2] for line in lines if line.startswith("one pass   ")}
    assert misses == {"bbt3_cut_left:", "bbt3_rot90:"}, run.stdout
    misses = [line for line in lines if line.startswith("current    ")]
    assert [line.split()[1] for line in misses] == ["bbt3_cut_left:"], run.stdout


def test_the_bench_counts_boxes_on_single_face_crops(faces_data_dir):
    if not (faces_data_dir / "celeba5" / "test").is_dir():
        pytest.skip("celeba5 absent")
    run = subprocess.run(
        [sys.executable, "bench/detect.py", "--detectors", "current", "--only", "bbt/bbt3.jpg", "--single-face", "4"],
        cwd=REPO, env={**os.environ, "FACES_DATA_DIR": str(faces_data_dir)}, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "4 celeba5 test crops (128x128, one face each):" in run.stdout
    row = next(line for line in run.stdout.splitlines() if line.startswith("| current | ") and line.count("|") == 5)
    no_face, several, boxes = (int(v) for v in row.strip("|").split("|")[1:])
    assert no_face + several <= 4 and boxes >= 4 - no_face

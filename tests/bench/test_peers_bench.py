"""bench/peers.py runs Visage and the face_recognition package on the same photos and
prints both tables with their ratios. face_recognition lives in the bench's own
environment (`make bench-venv`); where it is not installed this test skips."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_the_peers_bench_compares_both_pipelines_on_the_same_photos(faces_data_dir):
    if importlib.util.find_spec("face_recognition") is None:
        pytest.skip("face_recognition not installed (requirements-bench.txt, make bench-venv)")
    if not (faces_data_dir / "celeba5" / "test").is_dir():
        pytest.skip("celeba5 absent")
    env = {**os.environ, "FACES_DATA_DIR": str(faces_data_dir)}
    env.pop("DATABASE_URL", None)  # the bench must not need a database
    run = subprocess.run([sys.executable, "bench/peers.py", "--celeba", "20"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "== celeba5 test: 20 images of 4 people;" in out
    assert "| | Visage | face_recognition | Visage / face_recognition |" in out
    # Visage finds the one face of every crop.
    assert "| images with a face found | 20 / 20 |" in out
    for row in ("accuracy at its own threshold", "VAL at FAR 1e-3", "photos per second",
                "faces found (recall at IoU 0.5)", "precision"):
        assert f"| {row} | " in out, out
    assert "== album photos: 35 photos, 83 faces boxed by hand" in out

"""The aligned-face cache: built through the upload path, resumable, labelled by folder."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ml.learning.facecache import build_cache, load_cache


def test_cache_holds_aligned_faces_labels_and_resumes(ml_albums: Path, tmp_path: Path, monkeypatch):
    root = ml_albums / "bbt" / "characters"  # <person>/<image>, like a celeba5 split
    out = tmp_path / "faces.npy"
    messages: list[str] = []
    cache = build_cache(root, out, limit=12, chunk=5, log=messages.append)
    assert cache.crops.shape == (12, 150, 150, 3) and cache.crops.dtype == np.uint8
    assert cache.ok.all()  # every character crop holds a face
    assert cache.people == ["amy", "bernadette", "howard"] and cache.labels.tolist() == [0] * 5 + [1] * 5 + [2] * 2
    assert cache.paths[0] == "amy/amy1.png"
    assert cache.crops[0].std() > 10  # real pixels, not the zero fill

    # Complete: a second call does not detect again.
    import ml.faces.detect

    monkeypatch.setattr(ml.faces.detect, "FaceDetector", None)  # would fail if used
    again = build_cache(root, out, limit=12, log=messages.append)
    assert "skipping" in messages[-1]
    assert np.array_equal(again.crops, cache.crops)

    # Interrupted after 10 of 12: resuming redoes only the rest and yields the same cache.
    meta = json.loads(out.with_suffix(".json").read_text())
    meta.update(done=10, complete=False)
    out.with_suffix(".json").write_text(json.dumps(meta))
    monkeypatch.undo()
    messages.clear()
    resumed = build_cache(root, out, limit=12, chunk=5, log=messages.append)
    assert messages == [f"{out.name}: 12/12 images, " + messages[0].split(", ")[1] + ", 0 without a face"]
    assert np.array_equal(resumed.crops, cache.crops) and load_cache(out).ok.all()

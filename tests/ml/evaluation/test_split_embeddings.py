"""Embeddings and quality measures of a labelled split, cached per checkpoint."""
from __future__ import annotations

import shutil

import numpy as np

from ml.evaluation import embeddings as split_cache


def test_a_split_is_embedded_and_scored_face_for_face_then_read_from_the_cache(ml_albums, ml_checkpoint_path, tmp_path, monkeypatch):
    root = tmp_path / "split"
    for person in ("penny", "raj"):
        (root / person).mkdir(parents=True)
        for source in sorted((ml_albums / "bbt" / "characters" / person).iterdir())[:2]:
            shutil.copy(source, root / person / source.name)
    monkeypatch.setattr(split_cache, "CACHE_DIR", tmp_path / "cache")

    embeddings, labels = split_cache.split_embeddings(ml_checkpoint_path, root)
    measures = split_cache.split_quality_measures(ml_checkpoint_path, root)
    assert embeddings.shape == (4, 128) and labels.tolist() == ["penny", "penny", "raj", "raj"]
    assert np.allclose(np.linalg.norm(embeddings, axis=1), 1, atol=1e-4)
    assert len(measures) == 4 and all(m.short_side > 100 for m in measures)  # 150 px crops

    shutil.rmtree(root)  # the second call reads the cache only
    again, _ = split_cache.split_embeddings(ml_checkpoint_path, root)
    assert np.array_equal(again, embeddings) and split_cache.split_quality_measures(ml_checkpoint_path, root) == measures

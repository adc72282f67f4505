import numpy as np


def test_split_embeddings_embeds_each_image_once_and_caches_it(ml_data_dir, ml_checkpoint_path, tmp_path, monkeypatch):
    """Three real celeba5 faces of one person: one unit embedding each, labelled by folder,
    and a second call reads the cache instead of embedding again."""
    from ml.evaluation import embeddings

    source = sorted((ml_data_dir / "celeba5" / "test").iterdir())[0]
    person = tmp_path / "split" / source.name
    person.mkdir(parents=True)
    for image in sorted(source.iterdir())[:3]:
        (person / image.name).symlink_to(image)
    monkeypatch.setattr(embeddings, "CACHE_DIR", tmp_path / "cache")
    x, labels = embeddings.split_embeddings(ml_checkpoint_path, tmp_path / "split", threads=1)
    assert x.shape == (3, 128) and np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
    assert labels.tolist() == [source.name] * 3
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    again, _ = embeddings.split_embeddings(ml_checkpoint_path, tmp_path / "split", threads=1)
    assert np.array_equal(again, x)

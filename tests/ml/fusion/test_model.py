"""The fused model as the app runs it: one checkpoint file holding dlib v1, fr_feature and
the head, whose embeddings are exactly the head applied to the backbone features the head
is trained on (ml.fusion.features), face and mirror image averaged."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ml.faces.align import ARCFACE_112, DLIB_150, align_faces
from ml.faces.checkpoint import file_sha256, load_checkpoint, read_checkpoint, update_checkpoint_config
from ml.faces.embed import Embedder, load_embedder
from ml.faces.imageio import decode_image
from ml.faces.pipeline import FacePipeline
from ml.fusion.features import chunk_features
from ml.fusion.backbones import MODELS, standard_backbones
from ml.fusion.export import export_retrained_head
from ml.fusion.head import FusionHead, load_head_file
from ml.fusion.model import FusedEmbedder
from ml.learning.landmarks import MAX_SIDE, Landmarks
from tests.ml.fusion.fused import BACKBONES, export_test_model

PORTRAITS = ["friends/angelina_jolie.jpg", "friends/kate_siegel.jpg", "friends/paul_rudd.jpg"]


@pytest.fixture(scope="module")
def fused_path(tmp_path_factory) -> Path:
    return export_test_model(tmp_path_factory.mktemp("fused"), grouping={"threshold": 0.3})


@pytest.fixture(scope="module")
def fused(fused_path) -> FusedEmbedder:
    return load_embedder(fused_path, device="cpu", num_threads=2)


@pytest.fixture(scope="module")
def portraits(ml_albums, ml_detector) -> Landmarks:
    """Each portrait's largest face, its landmarks in the pixels decoded as the feature cache decodes."""
    points = []
    for name in PORTRAITS:
        faces = ml_detector.detect(decode_image(ml_albums / name, max_side=MAX_SIDE).pixels)
        points.append(max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])).landmarks)
    return Landmarks(PORTRAITS, np.ones(len(PORTRAITS), bool), np.stack(points), ml_albums)


def test_the_file_holds_every_network_and_loads_alone(fused_path, tmp_path):
    payload = read_checkpoint(fused_path)  # weights_only: plain tensors and dicts
    config = payload["config"]
    assert (config["architecture"], config["embedding_dim"], config["input_size"]) == ("fused", 128, 150)
    assert config["alignment_template"] == DLIB_150.to_dict() and config["mirror_average"] is True
    assert [(b["name"], b["kind"]) for b in config["backbones"]] == [("dlib", "torch"), ("fr_feature", "onnx")]
    assert config["backbones"][1]["alignment_template"] == ARCFACE_112.to_dict()
    assert config["grouping"] == {"threshold": 0.3} and payload["metrics"] == {"note": "test head"}
    onnx_bytes = payload["onnx"]["fr_feature"]
    assert onnx_bytes.dtype == torch.uint8 and onnx_bytes.numpy().tobytes() == (MODELS / "fr_feature.onnx").read_bytes()
    assert set(payload["backbone_state"]["dlib"]) == set(read_checkpoint(MODELS / "dlib_resnet_v1.pt")["state_dict"])

    # The file alone, elsewhere, is the whole model; exporting again gives the same bytes.
    moved = tmp_path / "copy.pt"
    moved.write_bytes(fused_path.read_bytes())
    again = export_test_model(tmp_path / "again", grouping={"threshold": 0.3})
    assert file_sha256(again) == file_sha256(fused_path)
    embedder = load_embedder(moved, device="cpu", num_threads=2)
    assert isinstance(embedder, FusedEmbedder) and embedder.templates == (DLIB_150, ARCFACE_112)
    assert file_sha256(moved) == file_sha256(fused_path)  # loading writes nothing

    update_checkpoint_config(moved, grouping={"threshold": 0.25})
    assert read_checkpoint(moved)["config"]["grouping"] == {"threshold": 0.25}
    assert read_checkpoint(moved)["config"]["backbones"] == config["backbones"]


def test_embeddings_are_the_head_on_the_cached_backbone_features(fused, fused_path, portraits):
    features = chunk_features(portraits, np.arange(len(PORTRAITS)), standard_backbones(tuple(BACKBONES)), mirror=True)
    saved = torch.load(fused_path.parent / "head.pt", weights_only=True)
    head = FusionHead([128, 512])
    head.load_state_dict(saved["state_dict"])
    expected = head.embed([features[b] for b in BACKBONES], [features[f"{b}_mirror"] for b in BACKBONES])

    images = [decode_image(portraits.root / p, max_side=MAX_SIDE).pixels for p in portraits.paths]
    crops = tuple(np.concatenate([align_faces(image, [points], template) for image, points in zip(images, portraits.points)])
                  for template in fused.templates)
    got = fused.embed(crops)
    assert got.shape == (3, 128) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert fused.embed(tuple(c[:0] for c in crops)).shape == (0, 128)
    with pytest.raises(ValueError, match="one per template"):
        fused.embed(crops[0])


def test_the_pipeline_keeps_the_primary_crop_and_a_128_d_vector(fused, ml_detector, ml_albums, ml_embedder):
    pipeline = FacePipeline(detector=ml_detector, embedder=fused)
    image = decode_image(ml_albums / "friends" / "paul_rudd.jpg", max_side=1600)
    [detections] = pipeline.detect([image])
    [records] = pipeline.embed_detected([image], [detections])
    assert records
    for record, detection in zip(records, detections):
        assert record.embedding.shape == (128,) and abs(np.linalg.norm(record.embedding) - 1) < 1e-5
        assert record.aligned.shape == record.shown.shape == (150, 150, 3)
        np.testing.assert_array_equal(record.aligned, align_faces(image.pixels, [detection.landmarks], DLIB_150)[0])
        crops = tuple(align_faces(image.pixels, [detection.landmarks], t) for t in fused.templates)
        np.testing.assert_allclose(record.embedding, fused.embed(crops)[0], atol=1e-5)
    # A single-network embedder takes the pipeline's 1-tuple as well as a bare array.
    crop = records[0].aligned[None]
    np.testing.assert_array_equal(ml_embedder.embed((crop,)), ml_embedder.embed(crop))
    assert isinstance(load_embedder(MODELS / "dlib_resnet_v1.pt", device="cpu"), Embedder)


def test_a_fused_file_has_no_single_network_to_load(fused_path):
    with pytest.raises(ValueError, match="a fused model has no single network to train/export"):
        load_checkpoint(fused_path)


def test_the_head_loads_from_the_model_file_as_from_its_head_file(fused_path):
    from_model, config = load_head_file(fused_path)
    from_head, head_config = load_head_file(fused_path.parent / "head.pt")
    assert config["backbones"] == head_config["backbones"] == BACKBONES and config["dims"] == [128, 512]
    features = [np.random.default_rng(0).normal(size=(4, d)).astype(np.float32) for d in (128, 512)]
    np.testing.assert_array_equal(from_model.embed(features), from_head.embed(features))


def test_a_retrained_head_replaces_only_the_head(fused_path, fused, portraits, tmp_path):
    torch.manual_seed(1)
    new_head = FusionHead([128, 512])
    out = tmp_path / "retrained.pt"
    export_retrained_head(fused_path, new_head, out, training={"training_run": 7})
    base, payload = read_checkpoint(fused_path), read_checkpoint(out)
    assert payload["config"]["backbones"] == base["config"]["backbones"]
    assert payload["config"]["grouping"] == base["config"]["grouping"]
    assert payload["config"]["head"]["training"] == {"training_run": 7}
    assert payload["config"]["head"]["retrained_from_sha256"] == file_sha256(fused_path)
    assert payload["metrics"] == {}  # the base's figures were its own head's
    retrained = load_embedder(out, device="cpu", num_threads=2)
    images = [decode_image(portraits.root / p, max_side=MAX_SIDE).pixels for p in portraits.paths]
    crops = tuple(np.concatenate([align_faces(image, [points], template) for image, points in zip(images, portraits.points)])
                  for template in fused.templates)
    parts, mirrors = fused.features(crops)
    np.testing.assert_allclose(retrained.embed(crops), new_head.embed(parts, mirrors), atol=1e-5)
    assert not np.allclose(retrained.embed(crops), fused.embed(crops), atol=1e-3)

    with pytest.raises(ValueError, match="part sizes"):
        export_retrained_head(fused_path, FusionHead([128, 192]), tmp_path / "wrong.pt", training={})
    with pytest.raises(ValueError, match="not a fused model file"):
        export_retrained_head(MODELS / "dlib_resnet_v1.pt", new_head, tmp_path / "single.pt", training={})
    assert not (tmp_path / "wrong.pt").exists() and not (tmp_path / "single.pt").exists()

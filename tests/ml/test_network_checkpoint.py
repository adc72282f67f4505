import json

import numpy as np
import pytest
import torch

from ml.align import DLIB_150
from ml.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from ml.convert_face_api import decode_weights, to_state_dict
from ml.detect import FaceDetector
from ml.embed import Embedder
from ml.imageio import decode_image
from ml.nets.dlib_resnet import DlibResNet
from ml.pipeline import FacePipeline


def test_shipped_checkpoint_embeds_unit_vectors(ml_embedder):
    crops = np.random.default_rng(1).integers(0, 255, (3, 150, 150, 3), dtype=np.uint8)
    vectors = ml_embedder.embed(crops)
    assert vectors.shape == (3, 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert ml_embedder.embed(crops[:0]).shape == (0, 128)
    with pytest.raises(ValueError, match="150, 150, 3"):
        ml_embedder.embed(np.zeros((1, 112, 112, 3), np.uint8))


def test_shipped_checkpoint_carries_its_config_and_threshold(ml_checkpoint):
    payload = read_checkpoint(ml_checkpoint)
    assert payload["config"]["architecture"] == "dlib_resnet"
    assert payload["config"]["alignment_template"] == DLIB_150.to_dict()
    assert 0.05 < payload["metrics"]["same_person_threshold"] < 0.2


def test_same_person_is_closer_on_album_photos(ml_detector, ml_embedder, albums_dir):
    pipeline = FacePipeline(detector=ml_detector, embedder=ml_embedder)
    names = ["obama/obama.jpg", "obama/obama2.jpg", "biden/biden.jpg", "biden/biden2.jpg"]
    images = [decode_image(albums_dir / "obama_biden" / "train" / name) for name in names]
    vectors = np.stack([records[0].embedding for records in pipeline.process_decoded(images)])
    distance = 1 - vectors @ vectors.T
    assert distance[0, 1] < min(distance[0, 2], distance[0, 3], distance[1, 2], distance[1, 3])
    assert distance[2, 3] < min(distance[0, 2], distance[1, 2])


def test_pipeline_maps_boxes_back_to_full_resolution(ml_detector, ml_embedder, albums_dir):
    pipeline = FacePipeline(detector=ml_detector, embedder=ml_embedder)
    path = albums_dir / "friends" / "multiface.jpg"
    full = pipeline.process_decoded([decode_image(path, max_side=None)])[0]
    small = pipeline.process_decoded([decode_image(path, max_side=600)])[0]
    assert len(full) == len(small) == 6
    for a, b in zip(full, small):
        assert np.allclose(a.box, b.box, atol=6)
        assert a.aligned.shape == (150, 150, 3)


def test_checkpoint_round_trip_preserves_outputs(tmp_path):
    torch.manual_seed(0)
    model = DlibResNet().eval()
    config = {**DlibResNet.default_config, "alignment_template": DLIB_150.to_dict()}
    x = torch.rand(2, 3, 150, 150) * 255
    with torch.inference_mode():
        expected = model(x)
    save_checkpoint(tmp_path / "fp32.pt", model, config=config, metrics={"accuracy": 0.5})
    save_checkpoint(tmp_path / "fp16.pt", model, config=config, dtype=torch.float16)
    loaded32, config32, metrics32 = load_checkpoint(tmp_path / "fp32.pt")
    loaded16, _, _ = load_checkpoint(tmp_path / "fp16.pt")
    with torch.inference_mode():
        torch.testing.assert_close(loaded32(x), expected, rtol=0, atol=0)
        assert (loaded16(x) - expected).abs().max() < 5e-3
    assert config32 == config and metrics32 == {"accuracy": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fp16.pt", "fp32.pt"]  # no temp files left


def test_checkpoint_without_template_is_refused(tmp_path):
    with pytest.raises(ValueError, match="alignment_template"):
        save_checkpoint(tmp_path / "x.pt", DlibResNet(), config=dict(DlibResNet.default_config))
    assert list(tmp_path.iterdir()) == []


def test_tfjs_weights_decode_with_quantisation():
    manifest = [{"paths": ["x.bin"], "weights": [
        {"name": "a", "shape": [2, 2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "b", "shape": [3], "dtype": "float32"},
    ]}]
    data = bytes([0, 1, 2, 4]) + np.array([1.5, -2.0, 3.25], dtype=np.float32).tobytes()
    weights = decode_weights(manifest, data)
    np.testing.assert_allclose(weights["a"], [[-1.0, -0.5], [0.0, 1.0]])
    np.testing.assert_allclose(weights["b"], [1.5, -2.0, 3.25])
    with pytest.raises(ValueError, match="bytes"):
        decode_weights(manifest, data + b"\x00")


def test_conv_filters_are_transposed_to_torch_layout():
    filters = np.arange(3 * 3 * 2 * 4, dtype=np.float32).reshape(3, 3, 2, 4)  # h, w, in, out
    state = to_state_dict({"conv32_1/conv1/conv/filters": filters, "fc": np.ones((256, 128), np.float32)})
    weight = state["conv32_1.conv1.conv.weight"]
    assert weight.shape == (4, 2, 3, 3)
    assert weight[3, 1, 2, 0] == filters[2, 0, 1, 3]
    assert state["fc.weight"].shape == (128, 256)

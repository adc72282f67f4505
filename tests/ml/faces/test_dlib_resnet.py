"""The dlib ResNet in torch: structure, converted weights, and identity on real photos."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ml.faces.imageio import decode_image
from ml.faces.nets.dlib_resnet import DlibResNet


def test_structure_and_face_api_names():
    model = DlibResNet().eval()
    names = set(model.state_dict())
    for name in ("conv32_down.conv.weight", "conv32_down.scale.weights", "conv32_1.conv1.conv.weight",
                 "conv64_down.conv2.scale.biases", "conv256_down_out.conv1.conv.bias", "fc.weight"):
        assert name in names
    assert model.fc.weight.shape == (128, 256)
    # 29 conv layers, all with a per-channel affine, none with batch norm.
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == 29
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    x = torch.rand(2, 3, 150, 150) * 255
    with torch.no_grad():
        features = model.forward_features(x)
        out = model(x)
    assert features.shape == (2, 256) and out.shape == (2, 128)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(2))
    torch.testing.assert_close(out, model.forward_head(features))


def test_decode_tfjs_weights_quantised_and_float():
    from ml.learning.convert_face_api import decode_weights

    manifest = [{"paths": ["x.bin"], "weights": [
        {"name": "a", "shape": [2, 2], "dtype": "float32",
         "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
        {"name": "b", "shape": [3], "dtype": "float32"},
    ]}]
    data = bytes([0, 1, 2, 255]) + np.array([1.5, -2.0, 3.25], np.float32).tobytes()
    weights = decode_weights(manifest, data)
    np.testing.assert_allclose(weights["a"], [[-1.0, -0.5], [0.0, 126.5]])
    np.testing.assert_allclose(weights["b"], [1.5, -2.0, 3.25])
    with pytest.raises(ValueError):
        decode_weights(manifest, data + b"\x00")


def test_converted_checkpoint_config(ml_checkpoint_path):
    from ml.faces.checkpoint import load_checkpoint

    model, config, metrics = load_checkpoint(ml_checkpoint_path)
    assert config["architecture"] == "dlib_resnet"
    # The app reads its same-person threshold from here (calibrated on celeba5 val).
    assert 0.05 < metrics["same_person_threshold"] < 0.2
    assert config["embedding_dim"] == 128 and config["input_size"] == 150
    assert config["alignment_template"]["size"] == 150
    assert not model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    json.dumps(config)  # the app stores it in the database


def test_embedder_output(ml_embedder):
    crops = np.random.default_rng(0).integers(0, 256, (5, 150, 150, 3), dtype=np.uint8)
    out = ml_embedder.embed(crops)
    assert out.shape == (5, 128) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # Batching must not change results.
    np.testing.assert_allclose(ml_embedder.embed(crops, batch_size=2), out, atol=1e-5)
    assert ml_embedder.embed(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)


def test_same_person_is_closer(ml_albums, ml_detector, ml_embedder):
    from ml.faces.pipeline import FacePipeline

    folder = ml_albums / "obama_biden" / "train"
    paths = [folder / "obama" / "obama.jpg", folder / "obama" / "obama2.jpg",
             folder / "biden" / "biden.jpg", folder / "biden" / "biden2.jpg"]
    records = FacePipeline(detector=ml_detector, embedder=ml_embedder).process_decoded(
        [decode_image(p) for p in paths]
    )
    assert [len(r) for r in records] == [1, 1, 1, 1]
    e = np.stack([r[0].embedding for r in records])
    d = 1.0 - e @ e.T  # cosine distance, as the app computes it
    assert d[0, 1] < 0.1 and d[2, 3] < 0.1  # same person
    assert min(d[0, 2], d[0, 3], d[1, 2], d[1, 3]) > 0.12  # Obama vs Biden
    assert d[0, 1] < min(d[0, 2], d[0, 3])


def test_conv_filters_are_transposed_to_torch_layout():
    from ml.learning.convert_face_api import to_state_dict

    filters = np.arange(3 * 3 * 2 * 4, dtype=np.float32).reshape(3, 3, 2, 4)  # h, w, in, out
    state = to_state_dict({"conv32_1/conv1/conv/filters": filters, "fc": np.ones((256, 128), np.float32)})
    weight = state["conv32_1.conv1.conv.weight"]
    assert weight.shape == (4, 2, 3, 3)
    assert weight[3, 1, 2, 0] == filters[2, 0, 1, 3]
    assert state["fc.weight"].shape == (128, 256)


def test_mirror_checkpoint_embeds_a_face_and_its_mirror_image_alike(ml_checkpoint_path):
    """models/dlib_resnet_v1_mirror.pt (ml.learning.export --mirror-average) = the same weights,
    each face embedded as normalise(f(x) + f(mirror(x))): a mirrored face gets the very
    same vector, and the plain network's vectors are averaged as documented."""
    import numpy as np

    from ml.faces.embed import Embedder

    mirror = Embedder.from_checkpoint(ml_checkpoint_path.with_name("dlib_resnet_v1_mirror.pt"), device="cpu", num_threads=2)
    plain = Embedder.from_checkpoint(ml_checkpoint_path, device="cpu", num_threads=2)
    assert mirror.mirror_average and not plain.mirror_average
    crops = np.random.default_rng(0).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    vectors = mirror.embed(crops)
    assert np.allclose(vectors, mirror.embed(np.ascontiguousarray(crops[:, :, ::-1])), atol=1e-5)
    both = plain.embed(crops) + plain.embed(np.ascontiguousarray(crops[:, :, ::-1]))
    assert np.allclose(vectors, both / np.linalg.norm(both, axis=1, keepdims=True), atol=1e-5)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

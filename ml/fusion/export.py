"""Write a fused model version: the frozen backbones and a trained fusion head in one
checkpoint file (the layout is in ml/fusion/model.py), ready to register as a version.

    python -m ml.fusion.export --head var/fusion/head.pt --out models/fused_dlib_fr.pt \
        [--grouping '{"merge_factor": 1.025, "attach_gap_share": 0.08}'] [--metrics metrics.json]

The head file is what ``python -m ml.fusion.train_head`` writes; its config names the
backbones in the order of their parts (the first is the primary: its crop is the one the
app stores and shows). Settings decided later go in with
``ml.faces.checkpoint.update_checkpoint_config(path, grouping={...})``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ml.faces.checkpoint import FUSED_ARCHITECTURE, file_sha256, read_checkpoint, save_checkpoint
from ml.fusion.backbones import MODELS, ONNX_BACKBONES, TORCH_BACKBONE_FILES
from ml.fusion.head import FusionHead, load_head_file


def _backbone(name: str, models_dir: Path) -> tuple[dict, dict]:
    """(its config entry, the payload parts it adds: {"backbone_state" | "onnx": {name: ...}})."""
    if name in TORCH_BACKBONE_FILES:
        source = read_checkpoint(models_dir / TORCH_BACKBONE_FILES[name])
        return {"name": name, "kind": "torch", "config": source["config"]}, {"backbone_state": {name: source["state_dict"]}}
    if name in ONNX_BACKBONES:
        file, template, dim = ONNX_BACKBONES[name]
        data = torch.from_numpy(np.frombuffer((models_dir / file).read_bytes(), dtype=np.uint8).copy())
        return ({"name": name, "kind": "onnx", "alignment_template": template.to_dict(), "embedding_dim": dim},
                {"onnx": {name: data}})
    raise ValueError(f"unknown backbone {name!r}; known: {sorted(TORCH_BACKBONE_FILES) + sorted(ONNX_BACKBONES)}")


def _dim(spec: dict) -> int:
    return int(spec["config"]["embedding_dim"] if spec["kind"] == "torch" else spec["embedding_dim"])


def _template(spec: dict) -> dict:
    return spec["config"]["alignment_template"] if spec["kind"] == "torch" else spec["alignment_template"]


def export_fused(head_path: Path, out: Path, *, extra_config: dict | None = None, metrics: dict | None = None,
                 models_dir: Path = MODELS) -> None:
    """Write ``out`` atomically from the head file and the backbones it names."""
    head, head_config = load_head_file(head_path)
    names, dims = list(head_config["backbones"]), [int(d) for d in head_config["dims"]]
    if len(names) != len(dims):
        raise ValueError(f"{head_path}: {len(names)} backbones {names} but {len(dims)} part sizes {dims}")
    specs, extra = [], {"backbone_state": {}, "onnx": {}}
    for name in names:
        spec, parts = _backbone(name, models_dir)
        specs.append(spec)
        for key, value in parts.items():
            extra[key].update(value)
    if [_dim(spec) for spec in specs] != dims:
        raise ValueError(f"{head_path}: part sizes {dims} differ from the backbones' {[_dim(s) for s in specs]}")
    primary = _template(specs[0])
    config = {
        "architecture": FUSED_ARCHITECTURE,
        "embedding_dim": head.net[-1].out_features,
        "input_size": int(primary["size"]),
        "alignment_template": primary,
        "mirror_average": True,
        "backbones": specs,
        "head": {"dims": dims, "hidden": head_config["hidden"], "dropout": head_config["dropout"],
                 "source_sha256": file_sha256(head_path), "training": head_config.get("training", {})},
        **(extra_config or {}),
    }
    save_checkpoint(out, head, config=config, metrics=metrics, extra=extra)


def export_retrained_head(base: Path, head: FusionHead, out: Path, *, training: dict) -> None:
    """Write ``out``: the fused model file ``base`` with ``head``'s weights in place of its
    head's (the backbones, their crops and the grouping settings as they were), and what
    the head learnt from in its config. The base's metrics were measured with its own
    head, so none are carried over."""
    payload = read_checkpoint(base)
    config = payload["config"]
    if config.get("architecture") != FUSED_ARCHITECTURE:
        raise ValueError(f"{base} is not a fused model file")
    if head.dims != [int(d) for d in config["head"]["dims"]]:
        raise ValueError(f"the head's part sizes {head.dims} differ from {base}'s {config['head']['dims']}")
    # source_sha256 named the head file of the base; this head comes from the base itself.
    kept = {key: value for key, value in config["head"].items() if key != "source_sha256"}
    config = {**config, "head": {**kept, "retrained_from_sha256": file_sha256(base), "training": training}}
    save_checkpoint(out, head, config=config, extra={"backbone_state": payload["backbone_state"], "onnx": payload["onnx"]})


def json_value(text: str):
    """A JSON value given inline or as the path of a .json file."""
    path = Path(text)
    return json.loads(path.read_text() if path.suffix == ".json" and path.is_file() else text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--head", type=Path, required=True, help="a head file of python -m ml.fusion.train_head")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--grouping", type=json_value, help="grouping settings for the config (JSON or a .json file)")
    parser.add_argument("--metrics", type=json_value, help="the checkpoint's metrics (JSON or a .json file)")
    parser.add_argument("--models-dir", type=Path, default=MODELS, help="where the backbones' files are")
    args = parser.parse_args()
    export_fused(args.head, args.out, extra_config={"grouping": args.grouping} if args.grouping is not None else None,
                 metrics=args.metrics, models_dir=args.models_dir)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 {file_sha256(args.out)})")


if __name__ == "__main__":
    main()

"""Triplet-loss training (FaceNet) on cached aligned faces, with online semi-hard mining.

    python -m ml.learning.train --out var/training/feat_b --init models/dlib_resnet_v1.pt \
        --train-cache var/facecache/train.npy --val-cache var/facecache/val.npy \
        --val-pairs ../shared/datasets/celeba5/pairs_val.txt --feature-cache-at conv256_1 \
        --p 30 --k 5 --extra 10 --alpha 0.05 --relative-lr --lr 3e-4 --warmup 30 --epochs 3

(the run behind models/facenet_v2.pt; see docs/model.md for what else was tried).

Build the caches first with ``python -m ml.learning.facecache``. The run writes into --out:
``last.pt`` (weights + optimiser + position, rewritten atomically every --save-every
steps and at each validation), ``best.pt`` (the weights with the best validation
accuracy so far) and ``log.jsonl`` (one JSON object per validation). Running the same
command again resumes from ``last.pt``; the batches are a function of (seed, epoch), so
a resumed run continues with the batches it would have seen.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch

from ml.learning.augment import augment_batch
from ml.faces.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from ml.faces.embed import mirror_averaged
from ml.learning.facecache import FaceCache, load_cache
from ml.learning.losses import triplet_loss
from ml.learning.mining import STRATEGIES, mine_triplets
from ml.faces.nets import build_network
from ml.learning.sampling import PKSampler
from ml.evaluation.verification import kfold_accuracy, read_pairs, roc_auc, val_at_far

WORST_DISTANCE = 2.0  # cosine distance given to a pair with an undetected face, as in ml.evaluation.evaluate


def pick_device(name: str | None) -> torch.device:
    return torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))


def nan_mean(values) -> float:
    """Mean of the finite values; NaN (without numpy's warning) when there are none, as
    for a window whose batches had no active triplet."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def frozen_prefix(model: torch.nn.Module, until: str | None) -> list[str]:
    """Names of the top-level children before ``until`` (those get no gradient)."""
    if not until:
        return []
    names = [name for name, _ in model.named_children()]
    if until not in names:
        raise ValueError(f"--freeze-until {until!r} is not a block of the network; blocks: {names}")
    return names[: names.index(until)]


class SplitNetwork:
    """A network cut before block ``until``: ``prefix`` (frozen, run once per face and
    cached) and ``suffix`` (trained). Checked against the whole network's forward, so a
    change in the architecture's block order fails loudly instead of training garbage."""

    def __init__(self, model: torch.nn.Module, until: str, input_size: int) -> None:
        names = [name for name, _ in model.named_children()]
        if until not in names or until in ("conv32_down", "fc"):
            raise ValueError(f"--feature-cache-at {until!r} must name an inner block; blocks: {names}")
        self.model, self.blocks = model, [n for n in names if n != "fc"]
        self.cut = self.blocks.index(until)
        x = torch.rand(2, 3, input_size, input_size) * 255
        with torch.no_grad():
            whole, split = model(x), self.suffix(self.prefix(x))
        if not torch.allclose(whole, split, atol=1e-4):
            raise ValueError(f"{type(model).__name__} does not split as SplitNetwork assumes")

    def prefix(self, x: torch.Tensor) -> torch.Tensor:
        from ml.faces.nets.dlib_resnet import STD

        h = torch.nn.functional.max_pool2d(torch.relu(self.model.conv32_down((x - self.model.mean) / STD)), 3, 2)
        for name in self.blocks[1 : self.cut]:
            h = getattr(self.model, name)(h)
        return h

    def suffix(self, h: torch.Tensor) -> torch.Tensor:
        for name in self.blocks[self.cut :]:
            h = getattr(self.model, name)(h)
        return self.model.forward_head(h.mean(dim=(2, 3)))


def cached_features(split: SplitNetwork, cache: FaceCache, path: Path, *, flips: bool, device, log=print) -> np.ndarray:
    """(F, N, C, H, W) float16 prefix outputs of every cached crop (F = 2 with the
    horizontally flipped crop as the second), computed once and kept at ``path``."""
    variants = 2 if flips else 1
    meta_path = path.with_suffix(".json")
    if path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta.get("variants") == variants and meta.get("rows") == len(cache.paths):
            return np.load(path, mmap_mode="r")
    start = time.perf_counter()
    with torch.no_grad():
        probe = split.prefix(torch.zeros(1, 3, *cache.crops.shape[1:3]).to(device))
        temp = path.with_name(f".{path.name}.tmp.npy")
        feats = np.lib.format.open_memmap(temp, mode="w+", dtype=np.float16, shape=(variants, len(cache.paths), *probe.shape[1:]))
        for v in range(variants):
            for begin in range(0, len(cache.paths), 256):
                crops = np.asarray(cache.crops[begin : begin + 256])
                if v == 1:
                    crops = crops[:, :, ::-1]
                x = torch.from_numpy(np.array(crops)).to(device).permute(0, 3, 1, 2).float()
                feats[v, begin : begin + len(crops)] = split.prefix(x).cpu().numpy().astype(np.float16)
                if begin % 5120 == 0:
                    log(f"features {path.name}: variant {v + 1}/{variants}, {begin}/{len(cache.paths)}, "
                        f"{time.perf_counter() - start:.0f} s")
        feats.flush()
        del feats
    os.replace(temp, path)
    meta_path.write_text(json.dumps({"variants": variants, "rows": len(cache.paths)}))
    return np.load(path, mmap_mode="r")


def parameter_groups(model: torch.nn.Module, *, relative: bool) -> list[dict]:
    """One optimiser group per trainable tensor, with ``lr_scale`` 1, or with --relative-lr
    the tensor's mean absolute value.

    Why: Adam moves every weight by about lr per step whatever its size. dlib's weights
    span four orders of magnitude (conv weights ~4e-4 deep in the net, affine scales ~10),
    so one absolute lr either wrecks the deep convolutions (1e-4 is a 25 % change per step:
    validation accuracy fell from 95.5 to 92.5 % within 125 steps) or never moves the
    scales. A relative lr changes each tensor by about the same fraction per step.
    An all-zero tensor (dlib's convolutions have no bias; ours start at 0) takes the
    scale of the tensor before it, its own convolution's weight."""
    groups, previous = [], 1.0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        magnitude = float(param.detach().abs().mean())
        scale = (magnitude if magnitude > 0 else previous) if relative else 1.0
        previous = scale if magnitude > 0 else previous
        groups.append({"params": [param], "lr_scale": scale, "name": name})
    return groups


@torch.no_grad()
def embed_crops(model: torch.nn.Module, crops: np.ndarray, device: torch.device, batch: int = 128,
                *, mirror_average: bool = False) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, D) float32 unit vectors, the model in eval mode; with
    mirror_average as ``Embedder`` does for checkpoints that ask for it."""
    if mirror_average:
        return mirror_averaged(lambda c: embed_crops(model, c, device, batch), np.asarray(crops))
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(crops), batch):
        x = torch.from_numpy(np.array(crops[start : start + batch])).to(device).permute(0, 3, 1, 2).float()
        out.append(model(x).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(out)


class PairsValidator:
    """The GUIDE §5 verification metrics on a pairs file, from cached crops: the same
    crops ml.evaluation.evaluate would produce, embedded once per call."""

    def __init__(self, cache: FaceCache, pairs_file: Path, *, every: int = 1) -> None:
        """every: use every n-th pair only (a quick check that keeps all folds)."""
        root = Path(cache.root)
        index = cache.index_of()
        pairs = read_pairs(pairs_file, root)[::every]
        rel = lambda p: str(Path(p).relative_to(root))  # noqa: E731
        self.a = np.array([index[rel(p.path_a)] for p in pairs])
        self.b = np.array([index[rel(p.path_b)] for p in pairs])
        self.same = np.array([p.same for p in pairs])
        self.folds = np.array([p.fold for p in pairs])
        used = np.unique(np.concatenate([self.a, self.b]))
        self.rows = used[cache.ok[used]]
        self.cache = cache

    def __call__(self, embed_rows) -> dict:
        """embed_rows: (R,) row indices of the cache -> (R, D) unit vectors."""
        embeddings = np.zeros((len(self.cache.paths), 128), np.float32)
        embeddings[self.rows] = embed_rows(self.rows)
        distances = 1.0 - (embeddings[self.a] * embeddings[self.b]).sum(axis=1)
        failed = ~(self.cache.ok[self.a] & self.cache.ok[self.b])
        distances[failed] = WORST_DISTANCE
        accuracy, std, thresholds = kfold_accuracy(distances, self.same, self.folds)
        val, _ = val_at_far(distances, self.same, 1e-3)
        # A collapsed network (f(x) = constant) shows as a tiny spread of all distances.
        return {"val_accuracy": accuracy, "val_accuracy_std": std, "val_at_far_1e-3": val,
                "val_auc": roc_auc(distances, self.same), "val_threshold": float(np.median(thresholds)),
                "val_distance_spread": float(distances[~failed].std())}


def train(args: argparse.Namespace, *, on_progress=None, should_stop=None) -> dict:
    """Run (or resume) the training described by ``args`` (see parse_args).

    on_progress(state, loss): called every --print-every steps with the train state
    (step, seconds, ...) and the mean loss of those steps. should_stop(): polled after
    every step; True saves last.pt and returns with state["stopped"] set, so the same
    call resumes later (the app's cancel button and worker shutdowns use this)."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    last_path, best_path, log_path = out / "last.pt", out / "best.pt", out / "log.jsonl"

    train_cache = load_cache(args.train_cache)
    validator = PairsValidator(load_cache(args.val_cache), Path(args.val_pairs)) if args.val_cache else None
    sampler = PKSampler(train_cache.labels, p=args.p, k=args.k, extra=args.extra, eligible=train_cache.ok, seed=args.seed)

    if args.init:
        model, init_config, _ = load_checkpoint(args.init, device=device)
        config = {k: v for k, v in init_config.items() if k not in ("training",)}
    else:
        model = build_network(args.architecture).to(device)
        from ml.faces.align import DLIB_150

        config = {**model.default_config, "alignment_template": DLIB_150.to_dict()}
    # A mirror-averaged model is used as normalise(f(x) + f(mirror(x))) (ml.faces.embed): train
    # and validate that embedding, not the plain f(x) it is made of, so that the loss and
    # the model selection judge what the app will compare.
    mirror = args.mirror_average or bool(config.get("mirror_average"))
    config["mirror_average"] = mirror
    frozen = frozen_prefix(model, args.freeze_until)
    # Frozen blocks get no gradient; as nothing before them requires one either, autograd
    # records no graph there and the backward pass stops at the first trained block.
    for name, child in model.named_children():
        child.requires_grad_(name not in frozen)
    split = None
    if args.feature_cache_at:
        # Cut the network where the maps are small (4x4 for dlib's last blocks): everything
        # before runs once per face (and once per flipped face), so a training step only
        # costs the trained tail. Augmentation is then flips only.
        if args.freeze_until and args.freeze_until != args.feature_cache_at:
            raise ValueError("--feature-cache-at needs --freeze-until at the same block (or unset)")
        frozen = frozen_prefix(model, args.feature_cache_at)
        for name, child in model.named_children():
            child.requires_grad_(name not in frozen)
        split = SplitNetwork(model.cpu(), args.feature_cache_at, int(config["input_size"]))
        model.to(device)
        stem = f"{Path(args.init).stem if args.init else 'scratch'}.{args.feature_cache_at}"
        train_feats = cached_features(split, train_cache, Path(args.train_cache).with_suffix(f".{stem}.npy"),
                                      flips=args.augment or mirror, device=device)
        val_feats = (cached_features(split, validator.cache, Path(args.val_cache).with_suffix(f".{stem}.npy"),
                                     flips=mirror, device=device) if validator else None)

    def tail_embeddings(feats: np.ndarray, rows: np.ndarray, variants: np.ndarray | None = None) -> torch.Tensor:
        """Embeddings of cached-feature rows: of the given variant per row (0 plain, 1
        flipped), or mirror-averaged over both when the model is."""
        def variant(v) -> torch.Tensor:
            return split.suffix(torch.from_numpy(np.asarray(feats[v, rows], np.float32)).to(device))

        if mirror:
            return torch.nn.functional.normalize(variant(0) + variant(1), dim=1)
        return variant(variants if variants is not None else 0)

    @torch.no_grad()
    def embed_val_rows(rows: np.ndarray) -> np.ndarray:
        if split is None:
            return embed_crops(model, validator.cache.crops[rows], device, mirror_average=mirror)
        was_training = model.training
        model.eval()
        out = [tail_embeddings(val_feats, rows[i : i + 512]).cpu().numpy() for i in range(0, len(rows), 512)]
        model.train(was_training)
        return np.concatenate(out)

    groups = parameter_groups(model, relative=args.relative_lr)
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(groups, lr=args.lr, weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.SGD(groups, lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)

    steps_per_epoch = min(len(sampler), args.steps_per_epoch or len(sampler))
    total_steps = args.epochs * steps_per_epoch
    state = {"step": 0, "best": -math.inf, "best_step": None, "seconds": 0.0}
    if last_path.is_file() and not args.restart:
        payload = read_checkpoint(last_path)
        model.load_state_dict(payload["state_dict"])
        optimizer.load_state_dict(payload["optimizer"])
        state = payload["train_state"]
        print(f"resumed from {last_path} at step {state['step']} of {total_steps}", flush=True)
    elif args.restart:
        log_path.unlink(missing_ok=True)
    state["total_steps"] = total_steps

    def lr_at(step: int) -> float:
        # Short linear warm-up (the mined triplets of a pretrained net are few and hard at
        # first), then cosine decay to 10 % of the peak.
        warm = min(1.0, (step + 1) / max(1, args.warmup))
        progress = step / max(1, total_steps)
        return args.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    run_config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}

    def save_last() -> None:
        save_checkpoint(last_path, model, config={**config, "training": run_config}, metrics={},
                        extra={"optimizer": optimizer.state_dict(), "train_state": state})

    def validate(epoch_stats: dict) -> None:
        metrics = validator(embed_val_rows) if validator else {}
        record = {"step": state["step"], "epoch": state["step"] / steps_per_epoch, "seconds": round(state["seconds"], 1),
                  **epoch_stats, **metrics}
        score = metrics.get(args.select, -state["step"])
        if validator and score > state["best"]:
            state["best"], state["best_step"] = score, state["step"]
            save_checkpoint(best_path, model, config={**config, "training": {**run_config, "step": state["step"]}},
                            metrics={k: v for k, v in record.items() if k.startswith("val_")})
        record["best_step"] = state["best_step"]
        with log_path.open("a") as stream:
            stream.write(json.dumps(record) + "\n")
        print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()), flush=True)
        if args.snapshots:
            save_checkpoint(out / f"step_{state['step']:06d}.pt", model, config=config, dtype=torch.float16)
        save_last()

    if state["step"] == 0 and validator and not log_path.is_file():
        validate({"note": "initial"})

    model.train()
    window = {"loss": [], "active": [], "pos": [], "neg": [], "semihard": [], "fallback": [], "skipped": []}
    started = time.perf_counter() - state["seconds"]
    while state["step"] < total_steps:
        epoch, within = divmod(state["step"], steps_per_epoch)
        batches = sampler.epoch(epoch)
        for _ in range(within):
            next(batches)
        for indices in batches:
            if state["step"] >= (epoch + 1) * steps_per_epoch or state["step"] >= total_steps:
                break
            indices = np.sort(indices)  # memmap reads in file order
            # Augmentation drawn from (seed, step): a resumed run repeats it exactly.
            aug_rng = np.random.default_rng([args.seed, 1, state["step"]])
            labels = torch.from_numpy(train_cache.labels[indices]).to(device)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(state["step"]) * group["lr_scale"]
            if split is not None:
                variant = aug_rng.integers(0, train_feats.shape[0], len(indices))
                embeddings = tail_embeddings(train_feats, indices, variant)
            else:
                crops = train_cache.crops[indices]
                x = torch.from_numpy(augment_batch(crops, aug_rng) if args.augment else crops.astype(np.float32))
                x = x.to(device).permute(0, 3, 1, 2)
                embeddings = model(x)
                if mirror:
                    embeddings = torch.nn.functional.normalize(embeddings + model(x.flip(3)), dim=1)
            mined = mine_triplets(embeddings, labels, alpha=args.alpha, strategy=args.mining)
            result = triplet_loss(embeddings, mined.anchors, mined.positives, mined.negatives, alpha=args.alpha)
            optimizer.zero_grad(set_to_none=True)
            if result.active:
                result.loss.backward()
                optimizer.step()
            state["step"] += 1
            state["seconds"] = time.perf_counter() - started
            window["loss"].append(float(result.loss.detach()))
            window["active"].append(result.active / max(1, mined.pairs))
            window["pos"].append(result.mean_positive)
            window["neg"].append(result.mean_negative)
            window["semihard"].append(mined.semihard / max(1, mined.pairs))
            window["fallback"].append(mined.fallback / max(1, mined.pairs))
            window["skipped"].append(mined.skipped / max(1, mined.pairs))
            if state["step"] % args.print_every == 0:
                print(f"step {state['step']}/{total_steps} loss {np.mean(window['loss'][-args.print_every:]):.4f} "
                      f"active {np.mean(window['active'][-args.print_every:]):.3f} "
                      f"{state['seconds'] / max(1, state['step']):.2f} s/step (avg)", flush=True)
                if on_progress is not None:
                    on_progress(state, nan_mean(window["loss"][-args.print_every:]))
            at_epoch_end = state["step"] % steps_per_epoch == 0
            if at_epoch_end or (args.val_every and state["step"] % args.val_every == 0) or state["step"] == total_steps:
                stats = {"lr": lr_at(state["step"] - 1), "loss": nan_mean(window["loss"]),
                         "active_share": float(np.mean(window["active"])),
                         "mean_d_ap": nan_mean(window["pos"]), "mean_d_an": nan_mean(window["neg"]),
                         "semihard_share": float(np.mean(window["semihard"])),
                         "fallback_share": float(np.mean(window["fallback"])),
                         "skipped_share": float(np.mean(window["skipped"]))}
                validate(stats)
                window = {k: [] for k in window}
            elif state["step"] % args.save_every == 0:
                save_last()
            if should_stop is not None and should_stop():
                save_last()
                return {**state, "stopped": True}
            if args.stop_at_step and state["step"] >= args.stop_at_step:
                print(f"stopping at step {state['step']} as asked (--stop-at-step)", flush=True)
                save_last()
                return state
            if args.max_minutes and state["seconds"] > args.max_minutes * 60:
                print(f"time budget of {args.max_minutes} min reached at step {state['step']}", flush=True)
                save_last()
                return state
    return state


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="run folder: last.pt, best.pt, log.jsonl")
    parser.add_argument("--train-cache", type=Path, required=True)
    parser.add_argument("--val-cache", type=Path, help="cached crops of the val split (skip validation without)")
    parser.add_argument("--val-pairs", type=Path)
    parser.add_argument("--init", type=Path, help="checkpoint to start from (e.g. models/dlib_resnet_v1.pt)")
    parser.add_argument("--architecture", default="dlib_resnet", help="network when training from scratch")
    parser.add_argument("--p", type=int, default=30, help="identities per batch")
    parser.add_argument("--k", type=int, default=4, help="faces per identity in a batch")
    parser.add_argument("--extra", type=int, default=8, help="further identities (1 face each) as negatives")
    parser.add_argument("--alpha", type=float, default=0.2, help="margin, in squared L2 on unit vectors")
    parser.add_argument("--mining", choices=STRATEGIES, default="semihard")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--relative-lr", action="store_true",
                        help="scale each tensor's lr by its mean |value| (--lr is then a fraction per step)")
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--warmup", type=int, default=20, help="steps of linear warm-up")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps-per-epoch", type=int, help="cap on batches per epoch")
    parser.add_argument("--freeze-until", help="first block that trains (earlier blocks stay frozen)")
    parser.add_argument("--feature-cache-at", metavar="BLOCK",
                        help="freeze the blocks before BLOCK and cache their output once per face (and flipped face)")
    parser.add_argument("--no-augment", dest="augment", action="store_false")
    parser.add_argument("--mirror-average", action="store_true",
                        help="train the mirror-averaged embedding (implied by an --init exported with --mirror-average)")
    parser.add_argument("--select", default="val_accuracy", help="validation metric that picks best.pt")
    parser.add_argument("--val-every", type=int, default=0, help="also validate every N steps")
    parser.add_argument("--save-every", type=int, default=25, help="write last.pt every N steps")
    parser.add_argument("--print-every", type=int, default=10)
    parser.add_argument("--snapshots", action="store_true", help="keep an fp16 copy of the weights at every validation")
    parser.add_argument("--max-minutes", type=float, help="stop (resumably) after this much training time")
    parser.add_argument("--stop-at-step", type=int,
                        help="stop (resumably) at this step, keeping the schedule of the full run (for short comparisons)")
    parser.add_argument("--restart", action="store_true", help="ignore last.pt and start over")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()

"""Train the fusion head on cached backbone features with the triplet loss and online
semi-hard mining (ml.learning.losses, ml.learning.mining), in large P x K batches.

    python -m ml.fusion.train_head --train var/fusion/features_train --val var/fusion/features_val \
        --out var/fusion/head.pt [--hidden 0] [--epochs 60] [--p 360 --k 5]

The backbones stay frozen: each training face is one row of cached features
(``ml.fusion.features``), so a batch of 1,800 faces costs milliseconds. Every
``--eval-every`` epochs the head is scored on the val pairs (mirror-averaged, as the app
embeds); the best epoch by val accuracy, ties by VAL@FAR=1e-3, is kept.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ml.fusion.head import FusionHead
from ml.fusion.splits import load_split
from ml.learning.losses import triplet_loss
from ml.learning.mining import mine_triplets
from ml.learning.sampling import PKSampler

PAIRS_VAL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "celeba5" / "pairs_val.txt"


def train_head(parts: list[np.ndarray], labels: np.ndarray, evaluate: Callable[[FusionHead], dict], *, hidden: int,
               epochs: int, p: int, k: int, lr: float, alpha: float, dropout: float, eval_every: int, seed: int,
               mirrors: list[np.ndarray] | None = None, pca: bool = False, start: FusionHead | None = None,
               on_epoch: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None,
               extra: int = 0, log=print) -> tuple[FusionHead, dict]:
    """parts: per backbone (N, D_i) unit embeddings of the training faces (``mirrors``: the
    same of their mirror images, drawn instead of the face half the time, as augmentation);
    labels: (N,) person ids; evaluate(head) -> ml.evaluation.evaluate's metrics on the val
    pairs. ``start``: fine-tune a copy of this head (its shape; hidden, dropout and pca are
    then not used), as retraining a fused version does. ``on_epoch(record)`` gets each
    epoch's figures; ``should_stop()`` is asked before each epoch, and a stop returns the
    best head so far with summary["stopped"] True. ``extra``: identities with fewer than k
    faces added to each batch (PKSampler), as the network's retraining does."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    features = torch.from_numpy(np.concatenate(parts, axis=1))
    flipped = None if mirrors is None else torch.from_numpy(np.concatenate(mirrors, axis=1))
    sampler = PKSampler(labels, p=p, k=k, extra=extra, seed=seed)
    if start is not None:
        if pca:
            raise ValueError("a PCA start and a start head exclude each other")
        head = copy.deepcopy(start)
    else:
        head = FusionHead([part.shape[1] for part in parts], hidden=hidden, dropout=dropout)
    if pca:
        head.start_from_pca(features.numpy() if flipped is None else np.concatenate([features.numpy(), flipped.numpy()]))
    if epochs == 0:  # the start alone
        metrics = evaluate(head)
        return head, {"history": [], "best_val_accuracy": round(metrics["accuracy"], 4),
                      "best_val_val": metrics["val_at_far_1e-3"]}
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    total = epochs * len(sampler)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / total)))
    best, best_state, history, began, stopped = None, None, [], time.perf_counter(), False
    for epoch in range(epochs):
        if should_stop is not None and should_stop():
            stopped = True
            break
        head.train()
        losses, active = [], 0
        for batch in sampler.epoch(epoch):
            index = torch.from_numpy(batch)
            rows = features[index]
            if flipped is not None:
                use = torch.from_numpy(rng.random(len(batch)) < 0.5)
                rows = torch.where(use[:, None], flipped[index], rows)
            embeddings = head(rows)
            target = torch.from_numpy(labels[batch])
            mined = mine_triplets(embeddings, target, alpha=alpha)
            out = triplet_loss(embeddings, mined.anchors, mined.positives, mined.negatives, alpha=alpha)
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(out.loss.item())
            active += out.active
        if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
            metrics = evaluate(head)
            row = {"epoch": epoch + 1, "step": (epoch + 1) * len(sampler), "total_steps": total,
                   "loss": float(np.mean(losses)), "active": active,
                   "val_accuracy": metrics["accuracy"], "val_val": metrics["val_at_far_1e-3"],
                   "minutes": (time.perf_counter() - began) / 60}
            history.append(row)
            log(json.dumps(row), flush=True)
            if on_epoch is not None:
                on_epoch(row)
            key = (round(metrics["accuracy"], 4), metrics["val_at_far_1e-3"])
            if best is None or key > best:
                best, best_state = key, {k: v.clone() for k, v in head.state_dict().items()}
    if best_state is None:  # stopped before the first evaluation: nothing was learnt
        return head, {"history": history, "stopped": True}
    head.load_state_dict(best_state)
    return head, {"history": history, "best_val_accuracy": best[0], "best_val_val": best[1], "stopped": stopped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--val", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--hidden", type=int, default=0, help="hidden layer width; 0: linear head")
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--p", type=int, default=360, help="people per batch")
    parser.add_argument("--k", type=int, default=5, help="faces per person")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--alpha", type=float, default=0.2)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backbones", nargs="+", help="default: every backbone both caches hold")
    parser.add_argument("--pairs", type=Path, default=PAIRS_VAL, help="the val cache's pairs (if its meta has none)")
    parser.add_argument("--mirror-augment", action="store_true", help="draw a face's mirror image half the time")
    parser.add_argument("--pca", action="store_true", help="start the linear head from the principal components")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, val = load_split(args.train), load_split(args.val)
    if val.pairs_file is None:
        val = replace(val, pairs_file=args.pairs)
    names = tuple(args.backbones or [name for name in train.backbones if name in val.backbones])
    print(f"train: {len(train.people)} faces of {len(set(train.people))} people; val: {len(val.paths)} faces; "
          f"backbones {', '.join(names)}", flush=True)
    people = {name: i for i, name in enumerate(sorted(set(train.people)))}
    labels = np.array([people[name] for name in train.people])
    head, summary = train_head(train.parts(names), labels, lambda h: val.verify(h.embed(val.parts(names), val.mirror_parts(names))),
                               hidden=args.hidden, epochs=args.epochs, p=args.p, k=args.k, lr=args.lr, alpha=args.alpha,
                               dropout=args.dropout, eval_every=args.eval_every, seed=args.seed,
                               mirrors=train.mirror_parts(names) if args.mirror_augment else None, pca=args.pca)
    config = {"backbones": list(names), "dims": head.dims, "hidden": args.hidden, "dropout": args.dropout,
              "training": {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("train", "val", "out")},
                           "train_faces": len(train.people), "train_people": len(set(train.people))}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": config, "state_dict": head.state_dict(), "summary": summary}, args.out)
    print(f"wrote {args.out}: best val accuracy {summary['best_val_accuracy']:.4f}, VAL {summary['best_val_val']:.4f}")


if __name__ == "__main__":
    main()

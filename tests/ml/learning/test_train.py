"""Training: a step lowers the triplet loss; a resumed run ends where a straight one does."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.faces.checkpoint import read_checkpoint
from ml.learning.losses import triplet_loss
from ml.learning.mining import mine_triplets
from ml.faces.nets import build_network
from ml.learning.train import parse_args
from ml.learning.trainer import Trainer


def train(config):
    return Trainer(config).run()


def test_one_training_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = build_network("dlib_resnet")
    x = torch.rand(6, 3, 150, 150) * 255
    labels = torch.arange(3).repeat_interleave(2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    embeddings = model(x)
    mined = mine_triplets(embeddings, labels, strategy="hardest")
    before = triplet_loss(embeddings, mined.anchors, mined.positives, mined.negatives)
    assert before.active > 0
    before.loss.backward()
    optimizer.step()
    with torch.no_grad():
        after = triplet_loss(model(x), mined.anchors, mined.positives, mined.negatives)
    assert after.loss.item() < before.loss.item()


def _args(cache: Path, out: Path, *extra: str):
    return parse_args([
        "--out", str(out), "--train-cache", str(cache), "--architecture", "dlib_resnet",
        "--p", "2", "--k", "2", "--extra", "1", "--epochs", "2", "--lr", "1e-3", "--warmup", "1",
        "--freeze-until", "conv256_down_out", "--save-every", "100", "--print-every", "100", "--seed", "3", *extra,
    ])


def test_resumed_run_matches_a_straight_run(ml_toy_cache: Path, tmp_path: Path):
    straight = tmp_path / "straight"
    assert train(_args(ml_toy_cache, straight)).step == 6  # 6 people / p=2 -> 3 batches x 2 epochs

    resumed = tmp_path / "resumed"
    stopped = train(_args(ml_toy_cache, resumed, "--stop-at-step", "4"))
    assert (stopped.step, stopped.stopped) == (4, "stop_at_step")
    middle = read_checkpoint(resumed / "last.pt")
    assert middle["train_state"]["step"] == 4 and "optimizer" in middle
    finished = train(_args(ml_toy_cache, resumed))
    assert (finished.step, finished.stopped) == (6, None)

    a = read_checkpoint(straight / "last.pt")["state_dict"]
    b = read_checkpoint(resumed / "last.pt")["state_dict"]
    torch.manual_seed(3)  # the seed train() sets before building the network
    initial = build_network("dlib_resnet").state_dict()
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)
    # The trained blocks moved; the frozen ones did not.
    assert not torch.allclose(a["fc.weight"], initial["fc.weight"])
    torch.testing.assert_close(a["conv256_2.conv1.conv.weight"], initial["conv256_2.conv1.conv.weight"])
    log = [json.loads(line) for line in (resumed / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [3, 6] and all(0 <= r["active_share"] <= 1 for r in log)


def test_hooks_see_every_step_and_validation_and_can_stop_the_run(ml_toy_cache: Path, tmp_path: Path):
    seen, validations = [], []
    trainer = Trainer(_args(ml_toy_cache, tmp_path / "hooked"), on_step=lambda state, result: seen.append(
        (state.step, result.loss)), on_validate=lambda state, record: validations.append(record["step"]),
        should_stop=lambda state: state.step == 4)
    state = trainer.run()
    assert (state.step, state.stopped) == (4, "asked")
    assert [step for step, _ in seen] == [1, 2, 3, 4] and all(np.isfinite(loss) for _, loss in seen)
    assert validations == [3]  # the end of the first epoch
    assert read_checkpoint(tmp_path / "hooked" / "last.pt")["train_state"]["step"] == 4  # resumable from here


def test_a_split_point_must_be_one_the_network_declares(ml_toy_cache: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="not a split point of dlib_resnet"):
        Trainer(_args(ml_toy_cache, tmp_path / "bad", "--freeze-until", "fc"))


def test_feature_cache_training_trains_only_the_tail(ml_toy_cache: Path, tmp_path: Path):
    out = tmp_path / "feat"
    state = train(_args(ml_toy_cache, out, "--freeze-until", "conv256_1", "--feature-cache-at", "conv256_1"))
    assert state.step == 6
    features = np.load(ml_toy_cache.with_suffix(".scratch.conv256_1.npy"))
    assert features.shape == (2, 30, 256, 4, 4) and features.dtype == np.float16  # plain and flipped crops
    torch.manual_seed(3)
    initial = build_network("dlib_resnet").state_dict()
    trained = read_checkpoint(out / "last.pt")["state_dict"]
    torch.testing.assert_close(trained["conv128_2.conv2.conv.weight"], initial["conv128_2.conv2.conv.weight"])
    assert not torch.allclose(trained["conv256_1.conv1.conv.weight"], initial["conv256_1.conv1.conv.weight"])


def test_a_mirror_averaged_model_is_trained_and_validated_as_it_is_used(ml_toy_cache: Path, ml_toy_pairs: Path, tmp_path: Path):
    from ml.faces.checkpoint import load_checkpoint
    from ml.faces.embed import Embedder
    from ml.learning.facecache import load_cache
    from ml.evaluation.verification import PairsValidator

    cache = load_cache(ml_toy_cache)
    pairs = ml_toy_pairs
    out = tmp_path / "mirror"
    train(_args(ml_toy_cache, out, "--freeze-until", "conv256_1", "--feature-cache-at", "conv256_1",
                "--mirror-average", "--val-cache", str(ml_toy_cache), "--val-pairs", str(pairs)))

    model, config, metrics = load_checkpoint(out / "best.pt")
    assert config["mirror_average"] is True  # the app embeds with it as it was trained
    validator = PairsValidator(cache, pairs)
    mirrored = Embedder(model, config, torch.device("cpu"))
    plain = Embedder(model, {**config, "mirror_average": False}, torch.device("cpu"))
    as_used = validator(lambda rows: mirrored.embed(np.asarray(cache.crops[rows])))["val_distance_spread"]
    not_used = validator(lambda rows: plain.embed(np.asarray(cache.crops[rows])))["val_distance_spread"]
    # float16 cached features: within 1e-4 of the checkpoint's own embedding; plain f(x)
    # differs by about 5e-3 on these toy faces.
    assert metrics["val_distance_spread"] == pytest.approx(as_used, rel=1e-3)
    assert not_used != pytest.approx(as_used, rel=1e-3)


def test_a_recipe_gives_the_values_and_flags_override_them():
    from ml.learning.config import TrainConfig

    config = parse_args(["--recipe", "fine_tune", "--out", "o", "--train-cache", "t.npy", "--lr", "1e-3"])
    assert (config.alpha, config.relative_lr, config.feature_cache_at, config.epochs) == (0.05, True, "default", 3)
    assert config.lr == 1e-3 and config.out == Path("o")
    plain = parse_args(["--out", "o", "--train-cache", "t.npy"])
    assert (plain.alpha, plain.relative_lr, plain.feature_cache_at) == (0.2, False, None)
    library = TrainConfig.from_recipe("library", out="run/train", train_cache="run/train.npy", p=12)
    assert library.train_cache == Path("run/train.npy") and library.p == 12 and library.split == "default"
    assert library.to_dict()["out"] == "run/train"  # as stored in checkpoints
    with pytest.raises(ValueError, match="unknown recipe 'nope'"):
        TrainConfig.from_recipe("nope", out="o", train_cache="t.npy")
    with pytest.raises(ValueError, match="needs freeze_until at the same split point"):
        TrainConfig(out="o", train_cache="t.npy", freeze_until="conv64_down", feature_cache_at="conv256_1")

"""Every registered network splits where it says: the frozen part then the tail is the whole
forward, and the tail is exactly what trains."""
from __future__ import annotations

import pytest
import torch

from ml.faces.nets import ARCHITECTURES, DEFAULT_SPLIT, build_network


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_split_point_gives_the_whole_forward(architecture):
    torch.manual_seed(0)
    model = build_network(architecture).eval()  # eval: batch norms use their running statistics
    size = model.default_config["input_size"]  # 150 for the ResNets, 112 for MobileFaceNet
    x = torch.rand(3, 3, size, size) * 255
    with torch.no_grad():
        whole = model(x)
        for split in model.split_points:
            torch.testing.assert_close(model.forward_from(model.forward_until(x, split), split), whole,
                                       atol=1e-5, rtol=0, msg=split)
    assert model.split_point(DEFAULT_SPLIT) in model.split_points


def test_the_default_splits_cut_where_the_maps_are_small():
    x = torch.rand(2, 3, 150, 150) * 255
    with torch.no_grad():
        assert build_network("dlib_resnet").eval().forward_until(x, DEFAULT_SPLIT).shape == (2, 256, 4, 4)
        assert build_network("compact_resnet").eval().forward_until(x, DEFAULT_SPLIT).shape == (2, 128, 8, 8)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_freezing_before_a_split_leaves_only_the_tail_trainable(architecture):
    model = build_network(architecture)
    split = model.split_point(DEFAULT_SPLIT)
    frozen = model.freeze_before(split)
    trainable = {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(model.trainable_tail(split))
    assert frozen and not any(p.requires_grad for module in frozen for p in module.parameters())
    model.freeze_before(None)
    assert all(p.requires_grad for p in model.parameters())


def test_a_name_that_is_no_split_point_is_refused():
    model = build_network("dlib_resnet")
    with pytest.raises(ValueError, match="not a split point of dlib_resnet; split points: conv32_1"):
        model.split_point("fc")

"""A compact face embedding network trainable from scratch on two CPU cores.

Why a small plain ResNet and not MobileFaceNet: depthwise convolutions are slow to train
on CPU in PyTorch. A throwaway MobileFaceNet-style trial on this machine (its script was
not kept) was over ten times slower per face than this network, which trains at about
220 faces/s (0.72 s per 160-face step in docs/compact_resnet_scratch_train_log.jsonl's
run), so only this one sees enough faces in a two-hour budget.

It takes the same 150 px ``dlib_chip_150`` crops as the dlib network (one aligner, one
cache), cuts the centre 120 px (the face and a little margin; the chip's outer band is
mostly background) and shrinks that to 64 px inside the module. The last 4x4 map is
flattened rather than averaged: where a feature sits on an aligned face matters.
Input: (N, 3, 150, 150) float RGB in 0..255; the normalisation is inside the module.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.constants import EMBEDDING_DIM
from ml.faces.nets.base import EmbeddingNetwork

INPUT_SIZE = 150
CENTRE_CROP = 120
WORKING_SIZE = 64
MEAN = 127.5
STD = 128.0
WIDTHS = (32, 64, 128, 256)
BLOCKS = (1, 2, 2, 1)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Identity() if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


def stage(cin: int, cout: int, blocks: int) -> nn.Sequential:
    """``blocks`` residual blocks, the first halving the resolution."""
    return nn.Sequential(BasicBlock(cin, cout, 2), *(BasicBlock(cout, cout, 1) for _ in range(blocks - 1)))


class CompactResNet(EmbeddingNetwork):
    default_config = {
        "architecture": "compact_resnet",
        "embedding_dim": EMBEDDING_DIM,
        "input_size": INPUT_SIZE,
        "mean": [MEAN] * 3,
        "std": STD,
    }
    split_points = ("stage1", "stage2", "stage3", "stage4")
    head = ("fc", "fc_bn")
    # stage4's input is an 8x8 map: the last stage and the head train, as dlib's last blocks do.
    fine_tune_from = "stage4"

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, WIDTHS[0], 3, 1, 1, bias=False), nn.BatchNorm2d(WIDTHS[0]), nn.ReLU())
        cins = (WIDTHS[0],) + WIDTHS[:-1]
        self.stage1, self.stage2, self.stage3, self.stage4 = (
            stage(cin, cout, n) for cin, cout, n in zip(cins, WIDTHS, BLOCKS)
        )
        final = WORKING_SIZE // 2 ** len(WIDTHS)
        self.fc = nn.Linear(WIDTHS[-1] * final * final, EMBEDDING_DIM, bias=False)
        self.fc_bn = nn.BatchNorm1d(EMBEDDING_DIM)

    @staticmethod
    def prepare(x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 150, 150) 0..255 -> (N, 3, 64, 64) normalised centre of the face."""
        margin = (x.shape[-1] - CENTRE_CROP) // 2
        x = x[:, :, margin : margin + CENTRE_CROP, margin : margin + CENTRE_CROP]
        x = F.interpolate(x, size=WORKING_SIZE, mode="bilinear", antialias=True, align_corners=False)
        return (x - MEAN) / STD

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 150, 150) RGB 0..255 -> (N, 32, 64, 64)."""
        return self.stem(self.prepare(x))

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """(N, 256, 4, 4) -> (N, 4096): flattened, where a feature sits matters."""
        return h.flatten(1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(N, 4096) -> (N, 128) L2-normalised embedding."""
        return F.normalize(self.fc_bn(self.fc(features)), dim=1)

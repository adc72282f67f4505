"""MobileFaceNet (Chen et al. 2018; the TensorFlow layout of sirius-ai's implementation),
192-D, in torch.nn.

Batch norm is folded into every convolution (conv + bias), as in the converted weights.
TensorFlow's 'SAME' padding is asymmetric for a stride-2 3x3 convolution on an even map
(nothing before, one row/column after), so strided layers pad explicitly.
Input: (N, 3, 112, 112) float RGB in 0..255, aligned to the ArcFace 112 template;
the normalisation (x - 127.5) / 128 is inside the module.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.faces.nets.base import EmbeddingNetwork

INPUT_SIZE = 112
MEAN = 127.5
STD = 128.0
EMBEDDING_DIM = 192

# (name, input channels, expanded channels, output channels, stride); a stride-1 block
# adds its input to its output.
BOTTLENECKS = (
    ("block2_0", 64, 128, 64, 2), *((f"block2_{i}", 64, 128, 64, 1) for i in range(1, 5)),
    ("block3_0", 64, 256, 128, 2), *((f"block4_{i}", 128, 256, 128, 1) for i in range(6)),
    ("block5_0", 128, 512, 128, 2), *((f"block6_{i}", 128, 256, 128, 1) for i in range(2)),
)


class ConvUnit(nn.Module):
    """Convolution with folded batch norm, then PReLU unless ``linear``."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, *, groups: int = 1, linear: bool = False) -> None:
        super().__init__()
        self.stride = stride
        padding = kernel // 2 if stride == 1 else 0
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=True)
        self.prelu = None if linear else nn.PReLU(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:  # TF 'SAME' on an even map: pad after only
            x = F.pad(x, (0, 1, 0, 1))
        x = self.conv(x)
        return x if self.prelu is None else self.prelu(x)


class Bottleneck(nn.Module):
    def __init__(self, cin: int, expanded: int, cout: int, stride: int) -> None:
        super().__init__()
        self.residual = stride == 1 and cin == cout
        self.expand = ConvUnit(cin, expanded)
        self.depthwise = ConvUnit(expanded, expanded, 3, stride, groups=expanded)
        self.project = ConvUnit(expanded, cout, linear=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return out + x if self.residual else out


class MobileFaceNet(EmbeddingNetwork):
    default_config = {
        "architecture": "mobilefacenet",
        "embedding_dim": EMBEDDING_DIM,
        "input_size": INPUT_SIZE,
        "mean": [MEAN] * 3,
        "std": STD,
    }
    split_points = tuple(name for name, *_ in BOTTLENECKS) + ("conv7", "logits_dw")
    head = ("logits_conv", "logits_linear")
    fine_tune_from = "block6_0"

    def __init__(self) -> None:
        super().__init__()
        self.conv0 = ConvUnit(3, 64, 3, 2)
        self.conv0_dw = ConvUnit(64, 64, 3, 1, groups=64)
        self.conv0_pw = ConvUnit(64, 64, linear=True)
        for name, cin, expanded, cout, stride in BOTTLENECKS:
            setattr(self, name, Bottleneck(cin, expanded, cout, stride))
        self.conv7 = ConvUnit(128, 512)
        self.logits_dw = ConvUnit(512, 512, 7, groups=512, linear=True)  # 'VALID' 7x7: a learned global pool
        self.logits_dw.conv.padding = (0, 0)
        self.logits_conv = nn.Linear(512, 512)
        self.logits_linear = nn.Linear(512, EMBEDDING_DIM)

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 112, 112) RGB 0..255 -> (N, 64, 56, 56)."""
        return self.conv0_pw(self.conv0_dw(self.conv0((x - MEAN) / STD)))

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """(N, 512, 1, 1) -> (N, 512)."""
        return h.flatten(1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(N, 512) -> (N, 192) L2-normalised embedding."""
        return F.normalize(self.logits_linear(self.logits_conv(features)), dim=1)

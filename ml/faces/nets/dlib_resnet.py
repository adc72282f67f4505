"""dlib's 128-D face descriptor ResNet (dlib_face_recognition_resnet_model_v1), in torch.nn.

Layer names mirror the weight names of face-api.js's FaceRecognitionNet so the converted
weights load by name. "Scale" layers are dlib's affine layers (a frozen batch norm):
a per-channel multiply and add, kept trainable so triplet fine-tuning can adjust them.
Input: (N, 3, 150, 150) float RGB in 0..255; the normalisation is inside the module.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.constants import EMBEDDING_DIM
from ml.faces.nets.base import EmbeddingNetwork

INPUT_SIZE = 150
MEAN_RGB = (122.782, 117.001, 104.298)
STD = 256.0


class ChannelAffine(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.ones(channels))
        self.biases = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights[:, None, None] + self.biases[:, None, None]


class ConvScale(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=True)
        self.scale = ChannelAffine(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale(self.conv(x))


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvScale(channels, channels, 3, 1, 1)
        self.conv2 = ConvScale(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(F.relu(self.conv1(x))) + x)


class ResidualDown(nn.Module):
    """Stride-2 block; the shortcut is a 2x2 average pool, zero-padded in channels."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = ConvScale(cin, cout, 3, 2, 0)
        self.conv2 = ConvScale(cout, cout, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        shortcut = F.avg_pool2d(x, 2, 2)
        if shortcut.shape[1] != out.shape[1]:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, out.shape[1] - shortcut.shape[1]))
        # 'valid' 3x3 stride 2 can end one row/column short of the pooled path.
        dh, dw = shortcut.shape[2] - out.shape[2], shortcut.shape[3] - out.shape[3]
        if dh or dw:
            out = F.pad(out, (0, dw, 0, dh))
        return F.relu(out + shortcut)


class DlibResNet(EmbeddingNetwork):
    default_config = {
        "architecture": "dlib_resnet",
        "embedding_dim": EMBEDDING_DIM,
        "input_size": INPUT_SIZE,
        "mean": list(MEAN_RGB),
        "std": STD,
    }
    split_points = (
        "conv32_1", "conv32_2", "conv32_3",
        "conv64_down", "conv64_1", "conv64_2", "conv64_3",
        "conv128_down", "conv128_1", "conv128_2",
        "conv256_down", "conv256_1", "conv256_2", "conv256_down_out",
    )
    head = ("fc",)
    # The recipe of models/dlib_resnet_finetuned.pt (docs/model.md): conv256_1's input is a 4x4 map.
    fine_tune_from = "conv256_1"

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1), persistent=False)
        self.conv32_down = ConvScale(3, 32, 7, 2, 0)
        self.conv32_1, self.conv32_2, self.conv32_3 = Residual(32), Residual(32), Residual(32)
        self.conv64_down = ResidualDown(32, 64)
        self.conv64_1, self.conv64_2, self.conv64_3 = Residual(64), Residual(64), Residual(64)
        self.conv128_down = ResidualDown(64, 128)
        self.conv128_1, self.conv128_2 = Residual(128), Residual(128)
        self.conv256_down = ResidualDown(128, 256)
        self.conv256_1, self.conv256_2 = Residual(256), Residual(256)
        self.conv256_down_out = ResidualDown(256, 256)
        self.fc = nn.Linear(256, EMBEDDING_DIM, bias=False)

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 150, 150) RGB 0..255 -> (N, 32, 36, 36)."""
        return F.max_pool2d(F.relu(self.conv32_down((x - self.mean) / STD)), 3, 2)

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """(N, 256, H, W) -> (N, 256) mean over the map."""
        return h.mean(dim=(2, 3))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(N, 256) -> (N, 128) L2-normalised embedding."""
        return F.normalize(self.fc(features), dim=1)

"""The fusion head: the frozen backbones' unit embeddings, concatenated, mapped to one
128-D unit embedding (EMBEDDING_DIM, what the app stores).

A linear map (``hidden=0``) or one hidden layer with ReLU. Starts near the plain
concatenation's geometry when linear (orthogonal init), so training refines a good start.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.constants import EMBEDDING_DIM


class FusionHead(nn.Module):
    def __init__(self, dims: list[int], *, hidden: int = 0, dim: int = EMBEDDING_DIM, dropout: float = 0.0) -> None:
        super().__init__()
        self.dims = list(dims)
        width = sum(self.dims)
        layers: list[nn.Module] = [nn.Dropout(dropout)] if dropout else []
        if hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, dim)]
        else:
            layers += [nn.Linear(width, dim)]
        self.net = nn.Sequential(*layers)
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.orthogonal_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, sum(dims)) concatenated unit embeddings -> (N, dim) unit embedding."""
        return F.normalize(self.net(features), dim=1)

    @torch.no_grad()
    def embed(self, parts: list[np.ndarray], mirrors: list[np.ndarray] | None = None) -> np.ndarray:
        """Per backbone (N, D_i) unit embeddings (and of the mirror images) -> (N, dim);
        with mirrors, the head's outputs for a face and its mirror image averaged."""
        self.eval()
        out = self(torch.from_numpy(np.concatenate(parts, axis=1)))
        if mirrors is not None:
            out = out + self(torch.from_numpy(np.concatenate(mirrors, axis=1)))
        return F.normalize(out, dim=1).numpy()

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

    @torch.no_grad()
    def start_from_lda(self, features: np.ndarray, labels: np.ndarray, *, shrink: float = 0.1) -> None:
        """Set the linear head to the classic discriminant projection of the training
        faces: the directions where people differ most relative to how much one person's
        faces vary (generalised eigenvectors of between- over within-person scatter, the
        within scatter shrunk towards its mean variance so rare directions do not blow
        up), whitened by the within scatter. Triplet training then refines it; a random
        start overfits the 2,000 people of the first try within 10-20 epochs."""
        from scipy.linalg import eigh

        if len(self.net) != 1 + (self.net[0].__class__ is nn.Dropout) or not isinstance(self.net[-1], nn.Linear):
            raise ValueError("an LDA start is for a linear head")
        x = features.astype(np.float64)
        people, index = np.unique(labels, return_inverse=True)
        means = np.zeros((len(people), x.shape[1]))
        np.add.at(means, index, x)
        counts = np.bincount(index).astype(float)
        means /= counts[:, None]
        within = x - means[index]
        sw = within.T @ within / len(x)
        sw = (1 - shrink) * sw + shrink * np.trace(sw) / len(sw) * np.eye(len(sw))
        centred = means - x.mean(axis=0)
        sb = (centred * counts[:, None]).T @ centred / len(x)
        _, vectors = eigh(sb, sw)  # ascending; vectors are sw-orthonormal: a whitening
        top = vectors[:, ::-1][:, : self.net[-1].out_features].T
        layer = self.net[-1]
        layer.weight.copy_(torch.from_numpy(top).float())
        layer.bias.copy_(torch.from_numpy(-(top @ x.mean(axis=0))).float())

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

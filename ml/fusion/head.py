"""The fusion head: the frozen backbones' unit embeddings, concatenated, mapped to one
128-D unit embedding (EMBEDDING_DIM, what the app stores).

A linear map (``hidden=0``) or one hidden layer with ReLU. Starts near the plain
concatenation's geometry when linear (orthogonal init), so training refines a good start.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.constants import EMBEDDING_DIM
from ml.faces.checkpoint import FUSED_ARCHITECTURE


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
    def start_from_pca(self, features: np.ndarray) -> None:
        """Set the linear head to the principal components of the training faces'
        concatenated embeddings (centred): the 128-D map that keeps as much of the
        concatenation's geometry as any linear map can. On celeba_library val it groups
        as well as the 640-D concatenation, where a head trained from a random start
        reaches no setting of precision 0.99 (docs/benchmarks.md); training may go on
        from here."""
        if len(self.net) != 1 + isinstance(self.net[0], nn.Dropout) or not isinstance(self.net[-1], nn.Linear):
            raise ValueError("a PCA start is for a linear head")
        x = features.astype(np.float64)
        mean = x.mean(axis=0)
        _, _, components = np.linalg.svd(x - mean, full_matrices=False)
        top = np.ascontiguousarray(components[: self.net[-1].out_features])
        self.net[-1].weight.copy_(torch.from_numpy(top).float())
        self.net[-1].bias.copy_(torch.from_numpy(-(top @ mean)).float())

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


def load_head_file(path: str | Path) -> tuple[FusionHead, dict]:
    """(the head, its config) from a file of ``python -m ml.fusion.train_head`` or from a
    fused model file (ml.fusion.export), so a registered version's head can be measured on
    cached features as it is; the config names the backbones in the order of the head's parts."""
    saved = torch.load(Path(path), map_location="cpu", weights_only=True)
    config = saved["config"]
    if config.get("architecture") == FUSED_ARCHITECTURE:  # the model file: its head under "head"
        config = {**config["head"], "backbones": [spec["name"] for spec in config["backbones"]]}
    head = FusionHead(config["dims"], hidden=config["hidden"], dropout=config.get("dropout", 0.0))
    head.load_state_dict(saved["state_dict"])  # refuses a head of another shape
    return head, config

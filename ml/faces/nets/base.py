"""What every embedding network declares besides its weights: its input config and where
it may be cut for training.

A network is a stem, a chain of named blocks and a head (timm's split):
``forward_features(x) = pool(blocks(stem(x)))`` and ``forward_head`` maps those features
to the L2-normalised embedding. Every block is a split point: cut before block B, the part
before it (``forward_until``) can stay frozen and be run once per face and cached, and the
part from B on (``forward_from``, the modules ``trainable_tail(B)`` names) is what trains.
Training code uses only this interface, so it works for any registered network.
"""
from __future__ import annotations

import torch
from torch import nn

# The split point a network names for fine-tuning on a small library (``fine_tune_from``).
DEFAULT_SPLIT = "default"


class EmbeddingNetwork(nn.Module):
    # architecture (the name stored in checkpoints), embedding_dim, input_size, mean, std
    default_config: dict
    # The blocks in forward order, by attribute name: the split points.
    split_points: tuple[str, ...]
    # The modules forward_head uses; they train whatever the split.
    head: tuple[str, ...]
    # Where fine-tuning a pretrained copy cuts: the maps there are small, so the frozen
    # part is most of the cost of a forward pass.
    fine_tune_from: str

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) RGB 0..255 -> the first block's input."""
        raise NotImplementedError

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """The last block's output -> (N, F) features."""
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """(N, F) -> (N, D) L2-normalised embedding."""
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self._blocks(self.forward_stem(x), self.split_points))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def split_point(self, name: str) -> str:
        """``name`` checked against the split points (DEFAULT_SPLIT: ``fine_tune_from``)."""
        if name == DEFAULT_SPLIT:
            return self.fine_tune_from
        if name not in self.split_points:
            raise ValueError(f"{name!r} is not a split point of {self.default_config['architecture']}; "
                             f"split points: {', '.join(self.split_points)} (or {DEFAULT_SPLIT!r})")
        return name

    def forward_until(self, x: torch.Tensor, split: str) -> torch.Tensor:
        """(N, 3, S, S) RGB 0..255 -> the input of block ``split``."""
        cut = self.split_points.index(self.split_point(split))
        return self._blocks(self.forward_stem(x), self.split_points[:cut])

    def forward_from(self, h: torch.Tensor, split: str) -> torch.Tensor:
        """The input of block ``split`` (forward_until's output) -> (N, D) embedding."""
        cut = self.split_points.index(self.split_point(split))
        return self.forward_head(self.pool(self._blocks(h, self.split_points[cut:])))

    def trainable_tail(self, split: str) -> tuple[str, ...]:
        """Names of the child modules that train when the network is cut before ``split``."""
        cut = self.split_points.index(self.split_point(split))
        return self.split_points[cut:] + self.head

    def freeze_before(self, split: str | None) -> list[nn.Module]:
        """Stop the gradient of every child module outside ``trainable_tail(split)``
        (nothing when ``split`` is None) and return the frozen ones. As nothing before the
        tail then requires a gradient, autograd records no graph there and the backward
        pass ends at the tail."""
        tail = set(self.trainable_tail(split)) if split else None
        frozen = []
        for name, child in self.named_children():
            trains = tail is None or name in tail
            child.requires_grad_(trains)
            if not trains:
                frozen.append(child)
        return frozen

    def _blocks(self, h: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
        for name in names:
            h = getattr(self, name)(h)
        return h

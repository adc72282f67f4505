"""Training-time augmentation of aligned face crops, in numpy + OpenCV (no torchvision).

Mild on purpose: the crops are already aligned to the template, and the network must
still see faces the way the aligner produces them at serving time.
"""
from __future__ import annotations

import cv2
import numpy as np


def augment_batch(
    crops: np.ndarray,
    rng: np.random.Generator,
    *,
    flip: float = 0.5,
    scale: float = 0.05,
    shift: float = 3.0,
    brightness: float = 0.1,
    contrast: float = 0.1,
    saturation: float = 0.1,
) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, S, S, 3) float32 in 0..255.

    Per face: horizontal flip with probability ``flip``; zoom by a factor in
    1 +- ``scale`` about the centre and shift by up to ``shift`` pixels; brightness
    (additive, share of 255), contrast and saturation (multiplicative) each within +-."""
    n, size = crops.shape[0], crops.shape[1]
    out = np.empty(crops.shape, np.float32)
    centre = (size - 1) / 2
    for i in range(n):
        image = crops[i]
        if rng.random() < flip:
            image = image[:, ::-1]
        zoom = 1 + rng.uniform(-scale, scale)
        dx, dy = rng.uniform(-shift, shift, 2)
        matrix = np.array([[zoom, 0, (1 - zoom) * centre + dx], [0, zoom, (1 - zoom) * centre + dy]])
        image = cv2.warpAffine(np.ascontiguousarray(image), matrix, (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        grey = image.mean(axis=2, keepdims=True)
        image = grey + (image - grey) * (1 + rng.uniform(-saturation, saturation))
        mean = image.mean()
        image = mean + (image - mean) * (1 + rng.uniform(-contrast, contrast)) + 255 * rng.uniform(-brightness, brightness)
        out[i] = np.clip(image, 0, 255)
    return out

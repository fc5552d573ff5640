"""Reference formulations that the package computes another way, faster: the tests hold the package to them."""
from __future__ import annotations

import numpy as np


def official_looks_gray(img: np.ndarray, threshold: float = 10.0) -> bool:
    """The official gray test as the official computes it: float64 NumPy over the whole photo, the mean of the three
    pairwise channel differences' variances at most ``threshold`` (in 8-bit levels)."""
    if img.ndim == 2 or img.shape[2] == 1:
        return True
    channels = [img[:, :, c].astype(np.float64) for c in range(3)]
    spread = sum((channels[a] - channels[b]).var() for a, b in ((0, 1), (1, 2), (2, 0))) / 3
    return spread <= threshold * (257.0**2 if img.dtype == np.uint16 else 1.0)


def numpy_is_gray(img: np.ndarray, tolerance: float = 2.0) -> bool:
    """``codeformer.utils.image_io.is_gray`` as NumPy computed it: the mean absolute difference of blue and green,
    and of green and red, both at most ``tolerance`` levels."""
    if img.ndim == 2:
        return True
    bgr = img[:, :, :3].astype(np.int32)
    scale = 257 if img.dtype == np.uint16 else 1
    spread = max(np.abs(bgr[:, :, 0] - bgr[:, :, 1]).mean(), np.abs(bgr[:, :, 1] - bgr[:, :, 2]).mean())
    return spread <= tolerance * scale

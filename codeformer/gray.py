"""Gray photos as the official pipeline treats them: which photos count as gray, and how a restored face is made
to fit one (its colour dropped, then each channel's mean and spread matched to the input face)."""
from __future__ import annotations

import numpy as np


def looks_gray(img: np.ndarray, threshold: float = 10.0) -> bool:
    """The official test: the mean variance of the three pairwise channel differences is at most ``threshold``.

    A variance, not a mean: a toned photo (sepia) whose channels differ by a constant counts as gray too; the colour
    statistics taken from its face keep the tone (``gray_face``).
    """
    if img.ndim == 2 or img.shape[2] == 1:
        return True
    channels = [img[:, :, c].astype(np.float64) for c in range(3)]
    spread = sum((channels[a] - channels[b]).var() for a, b in ((0, 1), (1, 2), (2, 0))) / 3
    scale = 257.0**2 if img.dtype == np.uint16 else 1.0
    return spread <= threshold * scale


def gray_face(restored: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """``restored`` (BGR) in gray (0.2989 R + 0.5870 G + 0.1140 B), each channel's mean and standard deviation set to
    those of ``crop``, the face it was restored from; float64, not rounded or clipped (as the official pastes it)."""
    face = restored.astype(np.float64)
    gray = 0.2989 * face[:, :, 2] + 0.5870 * face[:, :, 1] + 0.1140 * face[:, :, 0]
    gray = np.repeat(gray[:, :, None], 3, axis=2)
    style = crop.astype(np.float64).reshape(-1, 3)
    content = gray.reshape(-1, 3)
    c_mean, c_std = content.mean(0), np.sqrt(content.var(0) + 1e-5)
    s_mean, s_std = style.mean(0), np.sqrt(style.var(0) + 1e-5)
    return (gray - c_mean) / c_std * s_std + s_mean

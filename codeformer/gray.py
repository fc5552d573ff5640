"""Gray photos as the official pipeline treats them: which photos count as gray, and how a restored face is made
to fit one (its colour dropped, then each channel's mean and spread matched to the input face)."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ChannelStats:
    """How far apart an image's colour channels are.

    spread: the official gray test's measure, the mean variance of the three pairwise channel differences.
    mean_abs: the mean absolute differences blue-green, green-red and red-blue (``image_io.is_gray``'s measure).
    """
    spread: float
    mean_abs: tuple[float, float, float]


def channel_stats(img: np.ndarray) -> ChannelStats:
    """Both measures of a BGR(A) image (uint8 or uint16, in its own levels), in two passes by OpenCV: the channels
    turned by one, then the absolute differences' means and spreads; var(a - b) = E[|a - b|^2] - (E[a] - E[b])^2,
    from sums of integers in float64. The official computes the variances as float64 NumPy arrays of the whole photo:
    the same values to rounding, in a sixth of the time on a 1080p frame (``tests/test_gray.py``,
    ``benchmarks/bench_frames.py``)."""
    img = np.ascontiguousarray(img[:, :, :3])
    turned = np.empty_like(img)
    cv2.mixChannels([img], [turned], [1, 0, 2, 1, 0, 2])  # (g, r, b)
    mean, std = cv2.meanStdDev(cv2.absdiff(img, turned))
    channel_means = np.array(cv2.mean(img)[:3])
    variances = std[:, 0] ** 2 + mean[:, 0] ** 2 - (channel_means - channel_means[[1, 2, 0]]) ** 2
    return ChannelStats(float(variances.mean()), tuple(float(v) for v in mean[:, 0]))


def looks_gray(img: np.ndarray, threshold: float = 10.0, stats: ChannelStats | None = None) -> bool:
    """The official test: the mean variance of the three pairwise channel differences is at most ``threshold``
    (``stats``: the image's ``channel_stats``, when they are at hand).

    A variance, not a mean: a toned photo (sepia) whose channels differ by a constant counts as gray too; the colour
    statistics taken from its face keep the tone (``gray_face``).
    """
    if img.ndim == 2 or img.shape[2] == 1:
        return True
    scale = 257.0**2 if img.dtype == np.uint16 else 1.0
    return (stats or channel_stats(img)).spread <= threshold * scale


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

"""Gray photos as the official pipeline treats them: which photos count as gray, and how a restored face is made
to fit one (its colour dropped, then each channel's mean and spread matched to the input face)."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The tests' limits (the official's spread, and ``is_gray``'s tolerance), in 8-bit levels.
SPREAD_LIMIT = 10.0
MEAN_ABS_LIMIT = 2.0
SAMPLE_EVERY = 8  # rows: the first measure of ``decisive_stats``


@dataclass(frozen=True)
class ChannelStats:
    """How far apart an image's colour channels are.

    spread: the official gray test's measure, the mean variance of the three pairwise channel differences.
    mean_abs: the mean absolute differences blue-green, green-red and red-blue (``is_gray``'s measure).
    exact: False where both are lower bounds, measured on some rows only (``channel_stats(img, every)``).
    """
    spread: float
    mean_abs: tuple[float, float, float]
    exact: bool = True


def channel_stats(img: np.ndarray, every: int = 1) -> ChannelStats:
    """Both measures of a BGR(A) image (uint8 or uint16, in its own levels), in two passes by OpenCV: the channels
    turned by one, then the absolute differences' means and spreads; var(a - b) = E[|a - b|^2] - (E[a] - E[b])^2,
    from sums of integers in float64. The official computes the variances as float64 NumPy arrays of the whole photo:
    the same values to rounding, in a sixth of the time on a 1080p frame (``tests/test_gray.py``,
    ``benchmarks/bench_frames.py``).

    ``every`` > 1 measures every ``every``-th row and gives lower bounds of the whole image's measures: the sampled
    ones times the share of rows measured. Over all N pixels the sum of |d| is at least that over the m sampled ones,
    and N var(d) = sum (d - mean)^2 >= the sampled sum of (d - mean)^2 >= m var(sampled d) (a variance is the least
    mean square about any point)."""
    height = img.shape[0]
    img = np.ascontiguousarray(img[::every, :, :3])
    turned = np.empty_like(img)
    cv2.mixChannels([img], [turned], [1, 0, 2, 1, 0, 2])  # (g, r, b)
    mean, std = cv2.meanStdDev(cv2.absdiff(img, turned))
    channel_means = np.array(cv2.mean(img)[:3])
    variances = std[:, 0] ** 2 + mean[:, 0] ** 2 - (channel_means - channel_means[[1, 2, 0]]) ** 2
    share = img.shape[0] / height if every > 1 and height else 1.0
    return ChannelStats(float(variances.mean()) * share, tuple(float(v) * share for v in mean[:, 0]), every == 1)


def decisive_stats(img: np.ndarray) -> ChannelStats:
    """Stats that settle both gray tests at their usual limits: bounds from every ``SAMPLE_EVERY``-th row where those
    already put the image over both (a colour photo: an eighth of the work), else the whole image's."""
    sampled = channel_stats(img, SAMPLE_EVERY)
    if _over(sampled.spread, SPREAD_LIMIT, img, 2) and _over(max(sampled.mean_abs[:2]), MEAN_ABS_LIMIT, img, 1):
        return sampled
    return channel_stats(img)


def looks_gray(img: np.ndarray, threshold: float = SPREAD_LIMIT, stats: ChannelStats | None = None) -> bool:
    """The official test: the mean variance of the three pairwise channel differences is at most ``threshold``
    (``stats``: the image's ``channel_stats``, when they are at hand; bounds that do not settle it are measured again
    over the whole image).

    A variance, not a mean: a toned photo (sepia) whose channels differ by a constant counts as gray too; the colour
    statistics taken from its face keep the tone (``gray_face``).
    """
    if img.ndim == 2 or img.shape[2] == 1:
        return True
    stats = stats or channel_stats(img)
    if not stats.exact and not _over(stats.spread, threshold, img, 2):
        stats = channel_stats(img)
    return stats.spread <= _limit(threshold, img, 2)


def is_gray(img: np.ndarray, tolerance: float = MEAN_ABS_LIMIT, stats: ChannelStats | None = None) -> bool:
    """True for single-channel images and colour images whose channels agree up to compression noise: the mean
    absolute differences blue-green and green-red at most ``tolerance`` levels (``stats`` as for ``looks_gray``).

    Toned photos (sepia) differ between channels by more than the tolerance and count as colour.
    """
    if img.ndim == 2:
        return True
    stats = stats or channel_stats(img)
    if not stats.exact and not _over(max(stats.mean_abs[:2]), tolerance, img, 1):
        stats = channel_stats(img)
    return max(stats.mean_abs[:2]) <= _limit(tolerance, img, 1)


def _limit(limit: float, img: np.ndarray, power: int) -> float:
    """A limit in 8-bit levels (``power`` 1) or squared levels (2), in the image's own."""
    return limit * (257.0**power if img.dtype == np.uint16 else 1.0)


def _over(bound: float, limit: float, img: np.ndarray, power: int) -> bool:
    """A lower bound over the limit by more than float64 rounding of the sums could move it."""
    return bound > _limit(limit, img, power) * (1 + 1e-9) + 1e-9


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

"""Aligning faces to the 512x512 five-point template, and the coordinate maps back to the image.

Coordinates follow OpenCV: pixel centres at integers. Scaling an image by ``s`` maps x to
``s * x + (s - 1) / 2``; every map between the input, its upscaled output and the (possibly
upscaled) face crop is composed from that and the similarity transform.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# Five points (left eye, right eye, nose tip, left and right mouth corner) of the FFHQ-style aligned
# 512x512 face the released CodeFormer models were trained on.
FACE_TEMPLATE_512 = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
                              [201.26117, 371.41043], [313.08905, 371.15118]], dtype=np.float64)


def template(size: int = 512) -> np.ndarray:
    return FACE_TEMPLATE_512 * (size / 512.0)


def similarity_transform(landmarks: np.ndarray, size: int = 512) -> np.ndarray:
    """2x3 matrix mapping image coordinates to the aligned crop (rotation, uniform scale, shift),
    least-squares over the five points."""
    src = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    dst = template(size)[:len(src)]
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
    # closed form of the 2-D Procrustes problem with scale: a = sum(s.d)/|s|^2, b = sum(s x d)/|s|^2
    norm = (s**2).sum()
    if norm < 1e-12:
        raise ValueError('landmarks are degenerate (all in one place)')
    a = (s * d).sum() / norm
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / norm
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (dst_mean - rot @ src_mean)[:, None]])


def invert(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))


def scale_map(s: float) -> np.ndarray:
    """The 2x3 map of coordinates under resizing by ``s``."""
    return np.array([[s, 0.0, (s - 1) / 2], [0.0, s, (s - 1) / 2]])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """outer(inner(x)) for 2x3 affine maps."""
    result = outer[:, :2] @ inner
    result[:, 2] += outer[:, 2]
    return result


def crop_face(img: np.ndarray, matrix: np.ndarray, size: int = 512, border: int = cv2.BORDER_CONSTANT,
              fill: Sequence[int] = (135, 133, 132)) -> np.ndarray:
    """The aligned crop; outside the image it is filled with the grey the official pipeline uses."""
    return cv2.warpAffine(img, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border,
                          borderValue=tuple(int(v) for v in fill))


def eye_distance(landmarks: np.ndarray) -> float:
    pts = np.asarray(landmarks)
    return float(np.linalg.norm(pts[0] - pts[1]))

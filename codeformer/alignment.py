"""Aligning faces to the 512x512 template of their landmark layout, and the coordinate maps back to the image.

Coordinates follow OpenCV: pixel centres at integers. Scaling an image by ``s`` maps x to
``s * x + (s - 1) / 2``; every map between the input, its upscaled output and the (possibly
upscaled) face crop is composed from that and the similarity transform.

The similarity is fitted as the official pipeline fits it: OpenCV's least-median-of-squares estimate, which
leaves out a landmark that disagrees with the others (a detector's wrong mouth corner) instead of letting it pull
the whole crop. Tracked, smoothed video faces ask for least squares instead (``face_matrix``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LandmarkLayout:
    """The five points a detector gives and where they sit in the aligned 512 x 512 face."""

    name: str
    template_512: np.ndarray  # (5, 2)
    left_eye: tuple[int, ...]  # rows of the image-left eye
    right_eye: tuple[int, ...]

    def template(self, size: int = 512) -> np.ndarray:
        return self.template_512 * (size / 512.0)


# RetinaFace's (and MTCNN's) points: left eye, right eye, nose tip, left and right mouth corner (image left/right),
# at the FFHQ-style aligned 512 x 512 face the released CodeFormer models were trained on.
RETINAFACE_5 = LandmarkLayout('retinaface5', np.array(
    [[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935], [201.26117, 371.41043],
     [313.08905, 371.15118]]), left_eye=(0,), right_eye=(1,))
# dlib's 5-point predictor: outer and inner corner of the image-right eye, inner and outer corner of the image-left
# eye, nose base; the official template is given at 1024 px and halved.
DLIB_5 = LandmarkLayout('dlib5', np.array(
    [[686.77227723, 488.62376238], [586.77227723, 493.59405941], [337.91089109, 488.38613861],
     [437.95049505, 493.51485149], [513.58415842, 678.5049505]]) / 2, left_eye=(2, 3), right_eye=(0, 1))
LAYOUTS = {layout.name: layout for layout in (RETINAFACE_5, DLIB_5)}


def layout_of(face: object) -> LandmarkLayout:
    """The layout of a detected (or tracked) face; RetinaFace's when the face does not say."""
    return LAYOUTS[getattr(face, 'layout', RETINAFACE_5.name)]


def template(size: int = 512) -> np.ndarray:
    return RETINAFACE_5.template(size)


def face_matrix(face: object, size: int = 512) -> np.ndarray:
    """The image-to-crop similarity of a detected or tracked face: the official robust fit, or least squares when
    the face says ``robust_fit=False``. Video faces whose landmarks are smoothed over time say so: least median of
    squares picks its best pair of points, and on a turned face that pick can switch between frames whose landmarks
    moved by 0.2 px, jumping the crop by 8 px and its scale by 3 % (measured on ``bench_temporal.py``'s two-face clip);
    least squares moves the crop as smoothly as the landmarks move."""
    return similarity_transform(face.landmarks, size, layout_of(face), robust=getattr(face, 'robust_fit', True))


def similarity_transform(landmarks: np.ndarray, size: int = 512, layout: LandmarkLayout = RETINAFACE_5,
                         robust: bool = True) -> np.ndarray:
    """2x3 matrix mapping image coordinates to the aligned crop (rotation, uniform scale, shift).

    ``robust``: least median of squares (``cv2.estimateAffinePartial2D(..., method=cv2.LMEDS)``, the official fit;
    with five consistent points it equals least squares within 0.001 px); False: least squares over all points.
    """
    src = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    dst = layout.template(size)[:len(src)]
    if robust:
        matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
        if matrix is not None and np.isfinite(matrix).all() and abs(np.linalg.det(matrix[:, :2])) > 1e-12:
            return matrix
    return least_squares_similarity(src, dst)


def least_squares_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Closed form of the 2-D Procrustes problem with scale: a = sum(s.d)/|s|^2, b = sum(s x d)/|s|^2."""
    src, dst = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
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


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``points`` (N, 2) mapped through a 2 x 3 matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def crop_face(img: np.ndarray, matrix: np.ndarray, size: int = 512, border: int = cv2.BORDER_CONSTANT,
              fill: Sequence[int] = (135, 133, 132)) -> np.ndarray:
    """The aligned crop; outside the image it is filled with the grey the official pipeline uses."""
    return cv2.warpAffine(img, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border,
                          borderValue=tuple(int(v) for v in fill))


def eye_distance(landmarks: np.ndarray, layout: LandmarkLayout = RETINAFACE_5) -> float:
    """Distance between the eye centres."""
    pts = np.asarray(landmarks, dtype=np.float64)
    return float(np.linalg.norm(pts[list(layout.left_eye)].mean(0) - pts[list(layout.right_eye)].mean(0)))

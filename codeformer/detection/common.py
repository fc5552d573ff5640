"""What every detector shares: the result type, input normalisation, and the similarity fit used to check landmarks."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from codeformer.alignment import RETINAFACE_5, least_squares_similarity


@dataclass
class DetectedFace:
    """One face: the box and the five points the pipeline aligns on, all in input pixels.

    ``layout`` names the points' layout (``codeformer.alignment.LAYOUTS``), and so the template they are aligned to.
    RetinaFace's (and MTCNN's) rows: left eye, right eye, nose tip, left mouth corner, right mouth corner, where
    left/right are image-left/right, so row 0 is the subject's right eye on a frontal face. dlib's: see ``DLIB_5``.
    """

    box: np.ndarray  # (4,) float x1, y1, x2, y2
    score: float
    landmarks: np.ndarray  # (5, 2) float
    layout: str = RETINAFACE_5.name

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float64).reshape(4)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float64).reshape(5, 2)
        self.score = float(self.score)


@runtime_checkable
class Detector(Protocol):
    """What the pipeline calls: ``detect`` on a uint8 BGR image, faces sorted by score, high first."""

    name: str

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]: ...


def as_bgr(img: np.ndarray) -> np.ndarray:
    """A uint8 H x W x 3 BGR view of ``img``: gray (2-D or one channel) is expanded, alpha dropped, 16 bit reduced.

    The pipeline hands over uint8 BGR, but users calling a detector directly often pass a gray or RGBA array; a
    crash there helps nobody.
    """
    img = np.asarray(img)
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0).round().astype(np.uint8)
    elif img.dtype != np.uint8:
        raise TypeError(f'expected a uint8 (or uint16) image, got {img.dtype}')
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f'expected an H x W, H x W x 1, x 3 or x 4 image, got shape {img.shape}')
    if img.shape[2] == 1:
        return np.repeat(img, 3, axis=2)
    if img.shape[2] == 4:
        return np.ascontiguousarray(img[:, :, :3])
    return img


def sort_faces(faces: list[DetectedFace]) -> list[DetectedFace]:
    """Highest score first, as the interface promises (stable, so equal scores keep the detector's order)."""
    return sorted(faces, key=lambda f: -f.score)


# the 2 x 3 least-squares similarity taking ``src`` points onto ``dst``, under the name detectors' users know
fit_similarity = least_squares_similarity


def local_weights(key: str, weights_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """The weight file ``key`` from the weight zoo; ``weights_dir`` (facexlib's ``model_rootpath``) is looked in first
    and is where a download goes. Raises ``WeightsUnavailable`` (one line) when the file cannot be had."""
    from codeformer import weight_zoo

    if weights_dir is None:
        return weight_zoo.resolve(key, progress=progress)
    entry = weight_zoo.get(key)
    folder = Path(weights_dir).expanduser()
    for path in (folder / entry.filename, folder / entry.group / entry.filename):
        if path.is_file():
            return path
    found = weight_zoo.find(entry)
    return found if found is not None else weight_zoo.fetch(entry, dest=folder / entry.filename, progress=progress)

"""Pasting restored faces back into the (upscaled) image, each within its own region.

The blend is the one users know from the official pipeline: with a face-parsing mask, the mask's
soft edges; without one, the face square eroded and feathered in proportion to its size. All the
work for a face happens on the bounding box of the face in the output (plus the reach of the
erosion and blur), so a face costs the same in a 1000 px image as in a 8000 px one; outside that box
the mask is zero, so the result equals doing the same operations on the full frame.
"""
from __future__ import annotations

import cv2
import numpy as np

from codeformer.utils.image_io import max_value


def _region(matrix: np.ndarray, face_hw: tuple[int, int], canvas_hw: tuple[int, int],
            margin: int) -> tuple[int, int, int, int] | None:
    """Canvas box (x0, y0, x1, y1) covering the mapped face square plus ``margin``, clipped."""
    h, w = face_hw
    corners = np.array([[-1, -1, 1], [w, -1, 1], [-1, h, 1], [w, h, 1]], dtype=np.float64) @ matrix.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(0)).astype(int) + margin + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, canvas_hw[1]), min(y1, canvas_hw[0])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def square_mask_params(matrix: np.ndarray, face_hw: tuple[int, int], erode_px: int) -> tuple[int, int]:
    """Feather width (from the face's area in the output) and the margin its blur can reach."""
    area = abs(np.linalg.det(matrix[:, :2])) * face_hw[0] * face_hw[1]
    edge = int(area**0.5) // 20 + 1  # upper bound of the feather measured on the eroded mask
    return edge, erode_px + 3 * edge + 4


def paste_face(canvas: np.ndarray, face: np.ndarray, matrix: np.ndarray, soft_mask: np.ndarray | None = None,
               erode_px: int = 2) -> tuple[int, int, int, int] | None:
    """Blend ``face`` into ``canvas`` in place; ``matrix`` maps face pixels to canvas pixels.

    ``soft_mask``: float mask in [0, 1] in face coordinates (from face parsing); without it the face
    square is eroded by ``erode_px`` and feathered. Returns the canvas region that was touched.
    """
    face_hw = face.shape[:2]
    margin = 2 if soft_mask is not None else square_mask_params(matrix, face_hw, erode_px)[1]
    box = _region(matrix, face_hw, canvas.shape[:2], margin)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    local = matrix.copy()
    local[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(face, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if soft_mask is not None:
        mask = cv2.warpAffine(soft_mask.astype(np.float32), local, size, flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        pasted = warped.astype(np.float32)
    else:
        ones = np.ones(face_hw, dtype=np.float32)
        inside = cv2.warpAffine(ones, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        inside = cv2.erode(inside, np.ones((erode_px, erode_px), np.uint8))
        edge = int(inside.sum()**0.5) // 20
        pasted = warped.astype(np.float32) * (inside if warped.ndim == 2 else inside[:, :, None])
        center = cv2.erode(inside, np.ones((2 * edge, 2 * edge), np.uint8)) if edge > 0 else inside
        mask = cv2.GaussianBlur(center, (2 * edge + 1, 2 * edge + 1), 0) if edge > 0 else center
    if canvas.ndim == 3:
        mask = mask[:, :, None]
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    blended = mask * pasted + (1 - mask) * region
    canvas[y0:y1, x0:x1] = np.clip(blended.round(), 0, max_value(canvas.dtype)).astype(canvas.dtype)
    return box


# Face-parsing classes kept in the paste mask (ParseNet's 19 classes; 0 background, 14 neck,
# 16 cloth, 17 hair and 18 hat are left to the original image).
_KEEP = np.array([0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 0, 0, 0],
                 dtype=np.float32)


def parsing_soft_mask(labels: np.ndarray) -> np.ndarray:
    """Soft paste mask in [0, 1] from per-pixel parsing labels of a restored face."""
    mask = _KEEP[labels]
    mask = cv2.GaussianBlur(mask, (101, 101), 11)
    mask = cv2.GaussianBlur(mask, (101, 101), 11)
    border = max(1, round(10 * labels.shape[0] / 512))
    mask[:border] = 0
    mask[-border:] = 0
    mask[:, :border] = 0
    mask[:, -border:] = 0
    return mask / 255.0

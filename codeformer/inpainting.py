"""Inpainting with the released inpainting network: the regions to fill are painted pure white (the network was
trained on them so) or given as masks; every other pixel of the network-sized face is kept exactly."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from codeformer.errors import InvalidOption
from codeformer.restorer import FaceRestorer
from codeformer.utils.image_io import max_value


def painted_mask(bgr: np.ndarray) -> np.ndarray:
    """Where a face is painted pure white (the top value of its dtype in all three channels)."""
    return (bgr == max_value(bgr.dtype)).all(axis=2)


@dataclass
class Inpainted:
    image: np.ndarray  # the filled-in face, at the network's size
    mask: np.ndarray  # what was filled (True), at the network's size


def inpaint_faces(restorer: FaceRestorer, faces: Sequence[np.ndarray],
                  masks: Sequence[np.ndarray | None] | None = None) -> list[Inpainted]:
    """Fill in aligned BGR faces (uint8 or uint16, any size: resized to the network's).

    ``masks``: per face a boolean H x W array (True: fill), or None for the pixels painted pure white. The faces
    come back ``restorer.size`` square, in each input's dtype.
    """
    size = restorer.size
    masks = [None] * len(faces) if masks is None else list(masks)
    if len(masks) != len(faces):
        raise InvalidOption(f'{len(masks)} masks for {len(faces)} faces', 'masks', len(masks))
    painted, filled = [], []
    for bgr, mask in zip(faces, masks):
        mask = painted_mask(bgr) if mask is None else np.asarray(mask, dtype=bool)
        if mask.shape != bgr.shape[:2]:
            raise InvalidOption(f'the mask is {mask.shape[1]}x{mask.shape[0]}, the image {bgr.shape[1]}x{bgr.shape[0]}')
        if bgr.shape[:2] != (size, size):
            bgr = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
        bgr = bgr.copy()
        bgr[mask] = max_value(bgr.dtype)  # the network was trained on regions painted pure white
        painted.append(bgr)
        filled.append(mask)
    restored = restorer.restore_faces(painted)
    return [Inpainted(np.where(mask[:, :, None], out, face), mask)
            for face, mask, out in zip(painted, filled, restored)]

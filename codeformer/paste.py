"""Pasting restored faces back into the (upscaled) image, each within its own region.

The blend is the official pipeline's, step for step: the face square warped into the output and eroded (to drop
its black edge), feathered in proportion to its size; with face parsing, the per-pixel minimum of that feathered
square and the blurred parsing mask, so neither the mask's hard frame nor the square's corners show. All the work for
a face happens on the bounding box of the face in the output, so a face costs the same in a 1000 px image as in an
8000 px one; outside that box the mask is zero, so the result equals the official's full-frame operations.
"""
from __future__ import annotations

import cv2
import numpy as np

from codeformer.alignment import compose, invert, scale_map
from codeformer.utils.image_io import max_value

_GREEN = (0, 1, 0)  # BGR, times the canvas's largest value


def face_region(matrix: np.ndarray, face_hw: tuple[int, int], canvas_hw: tuple[int, int],
                margin: int = 2) -> tuple[int, int, int, int] | None:
    """Canvas box (x0, y0, x1, y1) covering the mapped face square plus ``margin``, clipped; None when empty."""
    h, w = face_hw
    corners = np.array([[-1, -1, 1], [w, -1, 1], [-1, h, 1], [w, h, 1]], dtype=np.float64) @ matrix.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(0)).astype(int) + margin + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, canvas_hw[1]), min(y1, canvas_hw[0])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def face_to_canvas(crop_matrix: np.ndarray, upscale: int, face_scale: float = 1.0, centred: bool = True) -> np.ndarray:
    """The map from restored-face pixels to the output's, given the image-to-crop matrix.

    ``face_scale``: the restored face's size over the crop's (the upscale, when faces are upsampled). ``centred``:
    through pixel centres (exact); False: the official's matrix, the inverse scaled by the upscale with s/2 added to
    its shift (at upscale > 1, faces not upsampled) or nothing added (faces upsampled).
    """
    inverse = invert(crop_matrix)
    if centred:
        return compose(scale_map(upscale), compose(inverse, scale_map(1 / face_scale)))
    out = inverse * upscale
    out[:, :2] /= face_scale
    if face_scale == 1 and upscale > 1:
        out[:, 2] += 0.5 * upscale
    return out


def paste_face(canvas: np.ndarray, face: np.ndarray, matrix: np.ndarray, parse_mask: np.ndarray | None = None,
               erode_px: int = 2, round_result: bool = True,
               draw_box: bool = False) -> tuple[int, int, int, int] | None:
    """Blend ``face`` into ``canvas`` (uint8/uint16, 2-D or BGR) in place; returns the canvas region touched.

    ``matrix`` maps face pixels to canvas pixels. ``parse_mask``: the soft parsing mask (any size, resized to the
    face's) or None for the feathered square alone. ``erode_px``: the first erosion (the official uses twice the
    upscale factor). ``round_result``: round the blend (False: truncate, as the official does). ``draw_box``:
    outline the face square in green, as the official ``--draw_box`` does.
    """
    face_hw = face.shape[:2]
    box = face_region(matrix, face_hw, canvas.shape[:2])
    if box is None:
        return None
    x0, y0, x1, y1 = box
    local = matrix.astype(np.float64)
    local[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)

    def warp(img: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(img, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    inside = cv2.erode(warp(np.ones(face_hw, np.float32)), np.ones((erode_px, erode_px), np.uint8))
    area = float(inside.sum())
    edge = int(area**0.5) // 20
    # an empty kernel (edge 0, a face under 20 px) makes OpenCV erode with its default 3 x 3: kept, as the official
    mask = cv2.GaussianBlur(cv2.erode(inside, np.ones((2 * edge, 2 * edge), np.uint8)), (2 * edge + 1, 2 * edge + 1), 0)
    if parse_mask is not None:
        parse = cv2.resize(parse_mask, face_hw[::-1]) if parse_mask.shape != face_hw else parse_mask
        # the official passes INTER_AREA, which warpAffine carries out as INTER_LINEAR
        parse = warp(parse)
        mask = np.where(parse < mask, parse, mask)
    region = canvas[y0:y1, x0:x1]
    blended = _blend(mask, inside, warp(face), region)
    if draw_box:
        blended = _outline(blended, warp, face_hw, area, max_value(canvas.dtype))
    if round_result:
        np.rint(blended, out=blended)
    region[...] = np.clip(blended, 0, max_value(canvas.dtype), out=blended)  # cast as astype does: truncated
    return box


def _blend(mask: np.ndarray, inside: np.ndarray, warped: np.ndarray, region: np.ndarray) -> np.ndarray:
    """mask * (inside * warped) + (1 - mask) * region in float32: the official's operations in its order, so the same
    values to the bit, by OpenCV (several threads, and no slow NumPy broadcast of a mask over three channels: half the
    time of a 1080p frame's face at -s 2). Not PyTorch: its threads, spinning after each operation, take the cores
    from OpenCV's next one (a 2-core machine ran the paste of a 360p frame ten times slower)."""
    if region.ndim == 3:
        mask, inside = cv2.merge([mask] * 3), cv2.merge([inside] * 3)
    pasted = cv2.multiply(inside, warped, dtype=_depth(inside, warped))  # as NumPy would type each step
    face_part = cv2.multiply(mask, pasted, dtype=_depth(mask, pasted))
    canvas_part = cv2.multiply(1 - mask, region, dtype=_depth(mask, region))
    return cv2.add(face_part, canvas_part, dtype=_depth(face_part, canvas_part))


def _depth(*arrays: np.ndarray) -> int:
    """The OpenCV depth of NumPy's result type for an operation on the arrays (float32, or float64 where a mask or
    face is float64: a parsing mask, a gray face)."""
    return cv2.CV_64F if np.result_type(*arrays) == np.float64 else cv2.CV_32F


def _outline(blended: np.ndarray, warp, face_hw: tuple[int, int], area: float, top: int) -> np.ndarray:
    """Paint a green frame ``int(1400 / sqrt(area))`` px inside the face square (the official ``--draw_box``)."""
    h, w = face_hw
    width = int(1400 / np.sqrt(max(area, 1.0)))
    frame = np.ones((h, w), np.float32)
    frame[width:h - width, width:w - width] = 0
    frame = warp(frame)
    if blended.ndim == 2:
        return frame * top + (1 - frame) * blended
    green = np.array(_GREEN, np.float32) * top
    return frame[:, :, None] * green + (1 - frame[:, :, None]) * blended


# Face-parsing classes kept in the paste mask (ParseNet's 19 classes; 0 background, 14 neck,
# 16 cloth, 17 hair and 18 hat are left to the original image).
_KEEP = np.array([0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0, 255, 0, 0, 0],
                 dtype=np.float64)


def parsing_soft_mask(labels: np.ndarray) -> np.ndarray:
    """Soft paste mask in [0, 1] (float64, the labels' size) from per-pixel parsing labels of a restored face:
    blurred twice (101 px, sigma 11), a 10 px frame cleared."""
    mask = _KEEP[labels]
    mask = cv2.GaussianBlur(mask, (101, 101), 11)
    mask = cv2.GaussianBlur(mask, (101, 101), 11)
    mask[:10] = 0
    mask[-10:] = 0
    mask[:, :10] = 0
    mask[:, -10:] = 0
    return mask / 255.0

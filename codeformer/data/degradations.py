"""The blind face degradation model of CodeFormer, plus the colour and mask corruptions of its variants.

Training pairs are synthesised from clean faces only, so this model decides what the network learns to
undo: blur -> downsample -> noise -> JPEG -> resize back. Images are HWC float32 in [0, 1] (BGR, as
basicsr reads them); the random draws use numpy's/Python's global generators, which basicsr's data
loader seeds per worker.
"""
from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from basicsr.data import degradations as bsr_degradations
from torchvision.transforms import functional as TF

Range = tuple[float, float]


@dataclass(frozen=True)
class DegradationRanges:
    """Parameters of one degradation level; noise sigma is in /255 units, downsample is a factor."""

    blur_sigma: Range = (0.1, 10.0)
    downsample_range: Range = (1.0, 12.0)
    noise_range: Range = (0.0, 15.0)
    jpeg_range: Range = (60.0, 100.0)
    blur_kernel_size: int = 41
    kernel_list: tuple[str, ...] = ('iso', 'aniso')
    kernel_prob: tuple[float, ...] = (0.5, 0.5)

    @classmethod
    def from_opt(cls, opt: Mapping, suffix: str = '', base: DegradationRanges | None = None) -> DegradationRanges:
        """Read ``blur_sigma{suffix}`` etc. from a dataset option dict; absent keys keep ``base``'s values."""
        kwargs: dict = dict(vars(base)) if base is not None else {}
        for key in ('blur_sigma', 'downsample_range', 'noise_range', 'jpeg_range'):
            value = opt.get(key + suffix)
            if value is not None:
                kwargs[key] = (float(value[0]), float(value[1]))
        if opt.get('blur_kernel_size') is not None:
            kwargs['blur_kernel_size'] = int(opt['blur_kernel_size'])
        if opt.get('kernel_list') is not None:
            kwargs['kernel_list'] = tuple(opt['kernel_list'])
            kwargs['kernel_prob'] = tuple(opt.get('kernel_prob') or [1.0 / len(opt['kernel_list'])] * len(
                opt['kernel_list']))
        return cls(**kwargs)


# The two levels of the published recipe (the defaults above are the small one).
SMALL = DegradationRanges()
LARGE = DegradationRanges(blur_sigma=(1.0, 15.0), downsample_range=(4.0, 30.0), noise_range=(0.0, 20.0),
                          jpeg_range=(30.0, 80.0))


def degrade(img: np.ndarray, ranges: DegradationRanges) -> np.ndarray:
    """Blur, downsample, add noise, JPEG-compress and resize back to the input size; result in [0, 1]."""
    h, w = img.shape[:2]
    kernel = bsr_degradations.random_mixed_kernels(
        list(ranges.kernel_list), list(ranges.kernel_prob), ranges.blur_kernel_size,
        ranges.blur_sigma, ranges.blur_sigma, [-math.pi, math.pi], noise_range=None)
    out = cv2.filter2D(img, -1, kernel)
    scale = np.random.uniform(*ranges.downsample_range)
    small = (max(1, int(round(w / scale))), max(1, int(round(h / scale))))
    out = cv2.resize(out, small, interpolation=cv2.INTER_LINEAR)
    if ranges.noise_range[1] > 0:
        out = bsr_degradations.random_add_gaussian_noise(out, ranges.noise_range)
    out = jpeg(out, int(round(np.random.uniform(*ranges.jpeg_range))))
    out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip at ``quality``. (basicsr's own helper hands OpenCV a float quality and a float image,
    which OpenCV 5 rejects and warns about respectively.)"""
    ok, buf = cv2.imencode('.jpg', np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8),
                           [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise RuntimeError('JPEG encoding failed')
    return cv2.imdecode(buf, cv2.IMREAD_COLOR).astype(np.float32) / 255.0


def color_shift(img: np.ndarray, shift: float) -> np.ndarray:
    """Add one random offset per channel, uniform in [-shift, shift] (in /255 units)."""
    offset = np.random.uniform(-shift, shift, size=(1, 1, 3)).astype(np.float32) / 255.0
    return np.clip(img + offset, 0.0, 1.0)


def to_gray(img: np.ndarray) -> np.ndarray:
    """Grey image with three equal channels, so the network input keeps its shape."""
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return np.repeat(gray[:, :, None], 3, axis=2)


def color_jitter_pt(img: torch.Tensor, brightness: Range, contrast: Range, saturation: Range,
                    hue: Range) -> torch.Tensor:
    """torchvision-style jitter of an RGB tensor in [0, 1]: the four adjustments in a random order."""
    steps = [
        lambda x: TF.adjust_brightness(x, random.uniform(*brightness)),
        lambda x: TF.adjust_contrast(x, random.uniform(*contrast)),
        lambda x: TF.adjust_saturation(x, random.uniform(*saturation)),
        lambda x: TF.adjust_hue(x, random.uniform(*hue)),
    ]
    for i in torch.randperm(len(steps)).tolist():
        img = steps[i](img)
    return img.clamp(0.0, 1.0)


def brush_stroke_mask(height: int, width: int, max_strokes: int = 4, max_vertices: int = 8,
                      width_range: Sequence[float] = (0.02, 0.08), max_length: float = 0.25) -> np.ndarray:
    """Random free-form brush strokes, (H, W) bool, for inpainting.

    Each stroke is a polyline of thick segments with round joints; widths and segment lengths are
    fractions of the image side so the same options suit 64 px smoke runs and 512 px training.
    """
    side = min(height, width)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(random.randint(1, max_strokes)):
        x, y = random.randint(0, width - 1), random.randint(0, height - 1)
        thickness = max(1, int(round(random.uniform(*width_range) * side)))
        for _ in range(random.randint(1, max_vertices)):
            angle = random.uniform(0, 2 * math.pi)
            length = random.uniform(0.05, max_length) * side
            nx = int(np.clip(x + length * math.cos(angle), 0, width - 1))
            ny = int(np.clip(y + length * math.sin(angle), 0, height - 1))
            cv2.line(mask, (x, y), (nx, ny), 1, thickness)
            cv2.circle(mask, (nx, ny), max(1, thickness // 2), 1, -1)
            x, y = nx, ny
    return mask.astype(bool)

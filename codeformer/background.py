"""Background (and face) upsampling with Real-ESRGAN x2plus, tile by tile.

The tiles, their padding, the reflect padding to even sizes, the rounding and the final Lanczos resize are those of
realesrgan's ``RealESRGANer`` (which the official script's ``set_realesrgan`` builds), so the results are the same
pictures; what differs is how they are computed: the photo goes to the device once and comes back once (as 8 or 16
bits, converted there), the convolutions run channels-last, tiles of the same size share network calls where that
pays (on a GPU), and nothing is printed per tile. ``benchmarks/bench_background.py`` measures both side by side.
"""
from __future__ import annotations

import math
import os

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codeformer.errors import import_optional
from codeformer.notices import logger
from codeformer.runtime import prepare_for_inference
from codeformer.utils.checkpoint import CheckpointError, mismatch, read_state_dict
from codeformer.utils.image_io import max_value

_warned_cpu = False

NET_SCALE = 2  # RealESRGAN_x2plus


def build_rrdbnet_x2() -> nn.Module:
    """The network of RealESRGAN_x2plus.pth (basicsr's RRDBNet)."""
    rrdbnet = import_optional('basicsr.archs.rrdbnet_arch', 'pip install basicsr', what='Real-ESRGAN')
    return rrdbnet.RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=NET_SCALE)


def tile_boxes(height: int, width: int, tile: int, pad: int) -> list[tuple[tuple[int, int, int, int], tuple[int, ...]]]:
    """Per tile, as ``RealESRGANer.tile_process`` cuts an image of ``height`` x ``width``: the padded input box
    (x0, y0, x1, y1), and the tile's own part within it (x0, y0, x1, y1, in the padded box's pixels). ``tile`` 0:
    the whole image, unpadded."""
    if tile <= 0:
        return [((0, 0, width, height), (0, 0, width, height))]
    boxes = []
    for ty in range(math.ceil(height / tile)):
        for tx in range(math.ceil(width / tile)):
            x0, y0 = tx * tile, ty * tile
            x1, y1 = min(x0 + tile, width), min(y0 + tile, height)
            px0, py0 = max(x0 - pad, 0), max(y0 - pad, 0)
            px1, py1 = min(x1 + pad, width), min(y1 + pad, height)
            boxes.append(((px0, py0, px1, py1), (x0 - px0, y0 - py0, x1 - px0, y1 - py0)))
    return boxes


def tiles_per_call(device: torch.device, dtype: torch.dtype, tile_pixels: int, free_bytes: int | None = None,
                   most: int = 16) -> int:
    """How many tiles of ``tile_pixels`` input pixels go through the network at once: 1 on the CPU (a batch leaves
    the caches there, as with CodeFormer), on CUDA as many as fit in half the free memory."""
    if device.type != 'cuda':
        return 1
    if free_bytes is None:
        free_bytes = torch.cuda.mem_get_info(device)[0]
    # the two 64-channel maps alive at the output's size dominate: 2 x 64 x (x2 x x2 pixels)
    per_tile = 2 * 64 * tile_pixels * NET_SCALE**2 * torch.empty((), dtype=dtype).element_size()
    return int(max(1, min(most, 0.5 * free_bytes // per_tile)))


class RealESRGANUpsampler:
    """RealESRGAN_x2plus; ``enhance(img, outscale)`` takes a BGR (or one-channel) uint8/uint16 image and returns it
    ``outscale`` times larger, of the same dtype.

    ``tile``: tile size in input pixels (0: the whole image at once), ``tile_pad``: the context around each tile
    (40, as the official script sets it). ``model``/``model_path`` replace the released network and file (tests use
    small ones). ``half``: float16, as the official script runs it on a GPU.
    """

    def __init__(self, device: torch.device, half: bool = False, tile: int = 400, model: nn.Module | None = None,
                 model_path: str | os.PathLike | None = None, progress: bool = True, tile_pad: int = 40):
        global _warned_cpu
        if device.type == 'cpu' and not _warned_cpu:
            logger.warning('Real-ESRGAN is slow on the CPU (seconds to minutes per image); leave the background '
                           'upsampler out for a quick run')
            _warned_cpu = True
        if model_path is None:
            from codeformer.weight_zoo import resolve
            model_path = resolve('realesrgan_x2plus', progress=progress)
        net = model if model is not None else build_rrdbnet_x2()
        state = read_state_dict(model_path)
        problem = mismatch(net, state)
        if problem:
            raise CheckpointError(f'{model_path}: not a Real-ESRGAN x2 checkpoint: {problem}')
        net.load_state_dict(state, strict=True)
        self.device = device
        self.dtype = torch.float16 if half else torch.float32
        self.net = prepare_for_inference(net, device, self.dtype)
        self.tile = int(tile)
        self.tile_pad = int(tile_pad)

    def enhance(self, img: np.ndarray, outscale: float = NET_SCALE) -> np.ndarray:
        """``img`` upsampled by the network (x2), then resized by Lanczos to ``outscale`` times its size."""
        if img.ndim == 2:  # as RealESRGANer: through the network as colour, back to gray by luminance
            return cv2.cvtColor(self.enhance(np.dstack([img] * 3), outscale), cv2.COLOR_BGR2GRAY)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'Real-ESRGAN takes H x W x 3 BGR or H x W images, got shape {img.shape}')
        h, w = img.shape[:2]
        top = max_value(img.dtype)
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(img)).to(self.device, non_blocking=True)
            x = x.flip(-1).permute(2, 0, 1)[None].to(torch.float32).div_(top).to(self.dtype)  # RGB in [0, 1]
            x = F.pad(x, (0, w % NET_SCALE, 0, h % NET_SCALE), mode='reflect')  # even sizes, as RealESRGANer pads
            out = self._tiles(x, top, img.dtype)[:h * NET_SCALE, :w * NET_SCALE]
        if outscale != NET_SCALE:
            out = cv2.resize(out, (int(w * outscale), int(h * outscale)), interpolation=cv2.INTER_LANCZOS4)
        return out

    def _tiles(self, x: torch.Tensor, top: int, dtype: np.dtype) -> np.ndarray:
        """The network's picture of ``x`` (1 x 3 x H x W, RGB) as a BGR ``dtype`` image, assembled tile by tile."""
        height, width = x.shape[2:]
        out = np.empty((height * NET_SCALE, width * NET_SCALE, 3), dtype)
        by_size: dict[tuple[int, int], list] = {}
        for box, own in tile_boxes(height, width, self.tile, self.tile_pad):
            by_size.setdefault((box[3] - box[1], box[2] - box[0]), []).append((box, own))
        for (th, tw), group in by_size.items():
            step = tiles_per_call(self.device, self.dtype, th * tw)
            for start in range(0, len(group), step):
                part = group[start:start + step]
                batch = torch.cat([x[:, :, y0:y1, x0:x1] for (x0, y0, x1, y1), _ in part])
                result = self.net(batch.contiguous(memory_format=torch.channels_last))
                pixels = result.float().clamp_(0, 1).mul_(top).round_().flip(1).permute(0, 2, 3, 1)  # BGR
                pixels = pixels.to(torch.uint8 if top == 255 else torch.int32).cpu().numpy()
                for (box, (ox0, oy0, ox1, oy1)), tile in zip(part, pixels):
                    s = NET_SCALE
                    out[(box[1] + oy0) * s:(box[1] + oy1) * s, (box[0] + ox0) * s:(box[0] + ox1) * s] = \
                        tile[oy0 * s:oy1 * s, ox0 * s:ox1 * s]
        return out


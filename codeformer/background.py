"""Background upsampling with Real-ESRGAN (realesrgan's ``RealESRGANer`` on basicsr's ``RRDBNet``)."""
from __future__ import annotations

import os

import numpy as np
import torch
from torch import nn

from codeformer.errors import import_optional
from codeformer.notices import logger

_warned_cpu = False


def build_rrdbnet_x2() -> nn.Module:
    from basicsr.archs.rrdbnet_arch import RRDBNet
    return RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2)


class RealESRGANUpsampler:
    """RealESRGAN_x2plus; ``enhance(img, outscale)`` takes BGR uint8/uint16 and any output scale.

    ``model``/``model_path`` replace the released network and file (tests use small ones).
    """

    def __init__(self, device: torch.device, half: bool = False, tile: int = 400, model: nn.Module | None = None,
                 model_path: str | os.PathLike | None = None, progress: bool = True):
        global _warned_cpu
        realesrgan = import_optional('realesrgan', 'pip install realesrgan', 'bg_upsampler', 'realesrgan')
        if device.type == 'cpu' and not _warned_cpu:
            logger.warning('Real-ESRGAN is slow on the CPU (seconds to minutes per image); leave the background '
                           'upsampler out for a quick run')
            _warned_cpu = True
        if model_path is None:
            from codeformer.weight_zoo import resolve
            model_path = resolve('realesrgan_x2plus', progress=progress)
        # RealESRGANer reads the file with torch.load, which is weights_only by default in torch >= 2.6.
        self.upsampler = realesrgan.RealESRGANer(scale=2, model_path=os.fspath(model_path),
                                                 model=model or build_rrdbnet_x2(), tile=tile, tile_pad=40, pre_pad=0,
                                                 half=half, device=device)

    def enhance(self, img: np.ndarray, outscale: float) -> np.ndarray:
        with torch.inference_mode():
            return self.upsampler.enhance(img, outscale=outscale)[0]

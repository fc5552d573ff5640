"""Upsamplers for the background and the faces (``bg_upsampler``, ``face_upsampler``): a registry, so that one more
is one ``register`` call. Each makes an object with ``enhance(bgr, outscale) -> image`` (uint8 or uint16 as given,
``outscale`` times the size)."""
from __future__ import annotations

from collections.abc import Callable

import torch

from codeformer.registry import Entry, Registry

UPSAMPLERS = Registry('upsampler', 'bg_upsampler')


def register(name: str, factory: Callable[..., object], help: str, weights: tuple[str, ...] = ()) -> Entry:
    """Add an upsampler: ``factory(device=, half=, tile=, progress=)``; ``weights``: the weight zoo's keys it
    downloads."""
    return UPSAMPLERS.register(name, factory, help, weights)


def build_upsampler(name: str, device: torch.device, half: bool = False, tile: int = 400, progress: bool = True,
                    argument: str = 'bg_upsampler') -> object:
    """The upsampler ``name``; an unknown one is reported against ``argument``."""
    return UPSAMPLERS.build(name, argument, device=device, half=half, tile=tile, progress=progress)


def _realesrgan(device: torch.device, half: bool = False, tile: int = 400, progress: bool = True) -> object:
    from codeformer.background import RealESRGANUpsampler
    return RealESRGANUpsampler(device, half=half, tile=tile, progress=progress)


register('realesrgan', _realesrgan, 'Real-ESRGAN x2plus, tile by tile (slow on the CPU; downloads 64 MB: '
         'realesrgan RealESRGAN_x2plus.pth)', weights=('realesrgan_x2plus',))

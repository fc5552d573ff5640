"""Deterministic network weights derived from parameter names, and the recorded outputs they give.

The rule (stated in shared/golden/README.md) seeds one generator per parameter from the CRC-32 of its
name, so any implementation with the released names and shapes gets the weights the official network
was recorded with. Outputs in tests/data/golden/ were subsampled from those recordings: images every
4th pixel, logits every 8th position, code indices whole.
"""
from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parent.parent / 'data' / 'golden'


def _draw(name: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed((zlib.crc32(name.encode()) + 7919 * seed) % 2**63)
    x = torch.randn(shape, generator=gen, dtype=torch.float32)
    last = name.rsplit('.', 1)[-1]
    if name.endswith('quantize.embedding.weight'):
        return x
    if last == 'position_emb':
        return x * 0.1
    if name.endswith('idx_pred_layer.1.weight'):
        return x * (10.0 / math.sqrt(shape[1]))
    if last.endswith('bias'):
        return x * 0.02
    if len(shape) == 1:
        return 1.0 + 0.1 * x
    return x / math.sqrt(math.prod(shape[1:]))


def golden_weights(net: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights by the rule for every entry of ``net.state_dict()``."""
    return {k: _draw(k, tuple(v.shape), seed) for k, v in net.state_dict().items()}


def golden_input(batch: int = 1, size: int = 512, seed: int = 0) -> torch.Tensor:
    """Smooth image-like input in [-1, 1] (coarse noise upsampled bicubically, plus fine noise)."""
    gen = torch.Generator().manual_seed(1000 + seed)
    coarse = torch.rand((batch, 3, 16, 16), generator=gen)
    img = torch.nn.functional.interpolate(coarse, size=(size, size), mode='bicubic', align_corners=False)
    img = img + 0.05 * torch.randn((batch, 3, size, size), generator=gen)
    return img.clamp(0, 1) * 2 - 1


def recorded_shapes(config: str) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of a released checkpoint, e.g. ``restoration``."""
    shapes = {}
    for line in (DATA / f'{config}_state_dict.txt').read_text().splitlines():
        name, shape = line.split('\t')
        shapes[name] = tuple(int(s) for s in shape.split('x'))
    return shapes


def recorded(name: str) -> np.ndarray:
    with np.load(DATA / 'golden_outputs.npz') as data:
        return data[name]

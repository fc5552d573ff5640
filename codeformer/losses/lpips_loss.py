"""LPIPS perceptual distance (VGG16 variant) as a training loss, from weights already on disk.

basicsr's ``PerceptualLoss`` and the ``lpips`` package download VGG/AlexNet weights at run time, which a
machine without internet cannot do. This loss only reads local files: the torchvision VGG16 ImageNet
checkpoint and the LPIPS linear heads (the ``vgg.pth`` of LPIPS v0.1, shipped inside the ``lpips`` wheel).
When either is missing it raises :class:`MissingWeightsError` once, at construction, naming the places
it looked, so a run fails before its first iteration rather than hours in.
"""
from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn
from torchvision.models import vgg as tv_vgg

VGG16_FILE = 'vgg16-397923af.pth'  # the name torchvision gives its ImageNet VGG16 checkpoint
# Layer boundaries in torchvision's vgg16().features that end at relu1_2, relu2_2, relu3_3, relu4_3, relu5_3.
SLICE_ENDS = (4, 9, 16, 23, 30)
CHANNELS = (64, 128, 256, 512, 512)
# LPIPS input scaling for images in [-1, 1] (from the LPIPS paper's release).
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


class MissingWeightsError(FileNotFoundError):
    """Pretrained weights a loss needs are not on this machine; the message says what and where."""


def default_vgg16_paths() -> list[Path]:
    """Where torchvision would have cached the VGG16 checkpoint, plus the project's pretrained folder."""
    return [Path(torch.hub.get_dir()) / 'checkpoints' / VGG16_FILE,
            Path('experiments') / 'pretrained_models' / VGG16_FILE]


def default_lin_paths() -> list[Path]:
    """The linear heads shipped in the ``lpips`` package (if installed) and the project's pretrained folder."""
    paths = [Path('experiments') / 'pretrained_models' / 'lpips_vgg_v0.1.pth']
    spec = importlib.util.find_spec('lpips')
    if spec is not None and spec.origin:
        paths.insert(0, Path(spec.origin).parent / 'weights' / 'v0.1' / 'vgg.pth')
    return paths


def _first_existing(explicit: str | os.PathLike | None, defaults: Sequence[Path]) -> tuple[Path | None, list[Path]]:
    candidates = [Path(os.path.expanduser(explicit))] if explicit else list(defaults)
    for path in candidates:
        if path.is_file():
            return path, candidates
    return None, candidates


@LOSS_REGISTRY.register()
class LPIPSLoss(nn.Module):
    """LPIPS(VGG16) distance between ``pred`` and ``target`` in [-1, 1], averaged over the batch.

    Args:
        loss_weight: multiplier of the returned loss.
        vgg_path: torchvision VGG16 checkpoint (``vgg16-397923af.pth``); None looks in the torch hub cache
            and ``experiments/pretrained_models``.
        lin_path: LPIPS v0.1 linear heads for VGG (``vgg.pth``); None looks in the installed ``lpips``
            package and ``experiments/pretrained_models/lpips_vgg_v0.1.pth``.
    """

    def __init__(self, loss_weight: float = 1.0, vgg_path: str | None = None, lin_path: str | None = None):
        super().__init__()
        self.loss_weight = loss_weight
        vgg_file, vgg_looked = _first_existing(vgg_path, default_vgg16_paths())
        lin_file, lin_looked = _first_existing(lin_path, default_lin_paths())
        if vgg_file is None or lin_file is None:
            missing = []
            if vgg_file is None:
                missing.append(f'VGG16 ImageNet weights ({VGG16_FILE}; looked in: {", ".join(map(str, vgg_looked))})')
            if lin_file is None:
                missing.append('LPIPS v0.1 VGG linear heads (vgg.pth from the lpips package; looked in: '
                               f'{", ".join(map(str, lin_looked))})')
            raise MissingWeightsError(
                'LPIPSLoss needs pretrained weights that are not on this machine: ' + '; '.join(missing)
                + '. Put them there (or set perceptual_opt.vgg_path / lin_path), or remove perceptual_opt '
                'from the options to train without the perceptual loss.')

        features = tv_vgg.make_layers(tv_vgg.cfgs['D'], batch_norm=False)  # vgg16().features, no classifier
        state = torch.load(vgg_file, map_location='cpu', weights_only=True)
        state = {k[len('features.'):]: v for k, v in state.items() if k.startswith('features.')}
        features.load_state_dict(state, strict=True)
        starts = (0, ) + SLICE_ENDS[:-1]
        self.slices = nn.ModuleList(features[a:b] for a, b in zip(starts, SLICE_ENDS))
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, 1, 0, bias=False) for c in CHANNELS)
        lin_state = torch.load(lin_file, map_location='cpu', weights_only=True)
        for i, lin in enumerate(self.lins):
            lin.weight.data.copy_(lin_state[f'lin{i}.model.1.weight'])
        self.register_buffer('shift', torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer('scale', torch.tensor(SCALE).view(1, 3, 1, 1))
        for param in self.parameters():
            param.requires_grad = False
        self.eval()

    def train(self, mode: bool = True) -> LPIPSLoss:
        """Stay in eval mode: the model's ``train()`` must not switch the fixed network."""
        return super().train(False)

    def distance(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-sample LPIPS distance, shape (B,)."""
        x = (pred - self.shift) / self.scale
        y = (target - self.shift) / self.scale
        total = pred.new_zeros(pred.shape[0])
        for block, lin in zip(self.slices, self.lins):
            x, y = block(x), block(y)
            nx = x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            ny = y / (y.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
            total = total + lin((nx - ny).pow(2)).mean(dim=(1, 2, 3))
        return total

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.distance(pred, target).mean() * self.loss_weight

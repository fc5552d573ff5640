"""Small networks with the released layouts, and files that hold them, for tests that run the CLI."""
from __future__ import annotations

from pathlib import Path

import torch

from codeformer.archs import CodeFormer

SMALL_CODEFORMER = dict(dim_embd=64, n_head=8, n_layers=2, codebook_size=32, latent_size=4,
                        connect_list=['8', '16', '32'], img_size=64, nf=32)


def small_codeformer(seed: int = 0, **overrides) -> CodeFormer:
    torch.manual_seed(seed)
    net = CodeFormer(**{**SMALL_CODEFORMER, **overrides}).eval()
    with torch.no_grad():  # a visible, deterministic effect of w: strong fusion weights
        for block in net.fuse_convs_dict.values():
            block.shift[2].weight.mul_(10)
    return net


def save_checkpoint(net: torch.nn.Module, path: Path, key: str | None = 'params_ema') -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = net.state_dict()
    torch.save({key: state} if key else state, path)
    return path

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


SMALL_RRDBNET = dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=1, num_grow_ch=8, scale=2)


def small_rrdbnet(seed: int = 0) -> torch.nn.Module:
    """A Real-ESRGAN x2 network, small, with weights drawn by the golden rule (``tests.support.golden``), so any
    machine and any implementation that reads them gets the same network; its last bias is 0.5, so that its
    pictures are mid-gray texture (std about 0.13) and not clipped at black."""
    from basicsr.archs.rrdbnet_arch import RRDBNet

    from tests.support.golden import golden_weights

    net = RRDBNet(**SMALL_RRDBNET).eval()
    weights = golden_weights(net, seed)
    weights['conv_last.bias'] = torch.full_like(weights['conv_last.bias'], 0.5)
    net.load_state_dict(weights)
    return net


def realesrgan_weights(folder: Path) -> Path:
    """A stand-in for the released RealESRGAN_x2plus.pth (its full layout, golden-rule weights) where the weight zoo
    looks in ``$CODEFORMER_WEIGHTS_DIR``: ``folder/realesrgan/RealESRGAN_x2plus.pth``."""
    from codeformer.background import build_rrdbnet_x2
    from tests.support.golden import golden_weights

    path = folder / 'realesrgan' / 'RealESRGAN_x2plus.pth'
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({'params_ema': golden_weights(build_rrdbnet_x2())}, path)
    return path

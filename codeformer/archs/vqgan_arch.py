"""The stage-I VQGAN of CodeFormer: autoencoder, nearest-neighbour quantizer and patch discriminator.

Module and parameter names follow the released checkpoints exactly (``encoder.blocks.N``,
``generator.blocks.N``, ``quantize.embedding``, ``main.N``) so they load with ``strict=True``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codeformer.utils.checkpoint import load_network_weights


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


class ResBlock(nn.Module):
    """Pre-activation residual block; a 1x1 ``conv_out`` matches channels on the skip path."""

    def __init__(self, in_channels: int, out_channels: int | None = None):
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        if in_channels != out_channels:
            self.conv_out = nn.Conv2d(in_channels, out_channels, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # swish = x * sigmoid(x) = silu, one kernel; in place on the fresh norm outputs
        h = self.conv1(F.silu(self.norm1(x), inplace=True))
        h = self.conv2(F.silu(self.norm2(h), inplace=True))
        skip = self.conv_out(x) if self.in_channels != self.out_channels else x
        return h.add_(skip)  # in place: conv2's backward does not need its output


class AttnBlock(nn.Module):
    """Single-head self-attention over spatial positions."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = self.norm(x)
        # (B, 1, HW, C): one head; SDPA scales by C^-0.5 like the original bmm/softmax formulation.
        q, k, v = (t(y).flatten(2).transpose(1, 2).unsqueeze(1) for t in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v)
        y = y.squeeze(1).transpose(1, 2).reshape(b, c, h, w)
        return x + self.proj_out(y)


class Downsample(nn.Module):
    """Stride-2 3x3 conv after padding one zero row/column at the bottom/right."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode='nearest'))


class Encoder(nn.Module):
    def __init__(self, in_channels: int, nf: int, emb_dim: int, ch_mult: Sequence[int], num_res_blocks: int,
                 resolution: int, attn_resolutions: Sequence[int]):
        super().__init__()
        in_mult = (1, ) + tuple(ch_mult)
        blocks: list[nn.Module] = [nn.Conv2d(in_channels, nf, 3, 1, 1)]
        res = resolution
        ch = nf
        for level, mult in enumerate(ch_mult):
            ch = nf * in_mult[level]
            out = nf * mult
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(ch, out))
                ch = out
                if res in attn_resolutions:
                    blocks.append(AttnBlock(ch))
            if level != len(ch_mult) - 1:
                blocks.append(Downsample(ch))
                res //= 2
        blocks += [ResBlock(ch, ch), AttnBlock(ch), ResBlock(ch, ch), group_norm(ch), nn.Conv2d(ch, emb_dim, 3, 1, 1)]
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class Generator(nn.Module):
    def __init__(self, nf: int, emb_dim: int, ch_mult: Sequence[int], num_res_blocks: int, resolution: int,
                 attn_resolutions: Sequence[int]):
        super().__init__()
        ch = nf * ch_mult[-1]
        res = resolution // 2**(len(ch_mult) - 1)
        blocks: list[nn.Module] = [nn.Conv2d(emb_dim, ch, 3, 1, 1), ResBlock(ch, ch), AttnBlock(ch), ResBlock(ch, ch)]
        for level in reversed(range(len(ch_mult))):
            out = nf * ch_mult[level]
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(ch, out))
                ch = out
                if res in attn_resolutions:
                    blocks.append(AttnBlock(ch))
            if level != 0:
                blocks.append(Upsample(ch))
                res *= 2
        blocks += [group_norm(ch), nn.Conv2d(ch, 3, 3, 1, 1)]
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class VectorQuantizer(nn.Module):
    """Nearest-codebook-entry quantizer with a straight-through gradient."""

    def __init__(self, codebook_size: int, emb_dim: int, beta: float = 0.25):
        super().__init__()
        self.codebook_size = codebook_size
        self.emb_dim = emb_dim
        self.beta = beta
        self.embedding = nn.Embedding(codebook_size, emb_dim)
        self.embedding.weight.data.uniform_(-1.0 / codebook_size, 1.0 / codebook_size)

    def nearest_indices(self, z_flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices (N, 1) of the closest codebook entries and the full distance matrix (N, K)."""
        codebook = self.embedding.weight
        dist = (z_flat**2).sum(dim=1, keepdim=True) + (codebook**2).sum(dim=1) - 2 * z_flat @ codebook.t()
        return dist.argmin(dim=1, keepdim=True), dist

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        z = z.permute(0, 2, 3, 1).contiguous()
        z_flat = z.view(-1, self.emb_dim)
        indices, dist = self.nearest_indices(z_flat)
        z_q = self.embedding(indices.squeeze(1)).view(z.shape)
        loss = torch.mean((z_q.detach() - z)**2) + self.beta * torch.mean((z_q - z.detach())**2)
        z_q = z + (z_q - z).detach()
        counts = torch.bincount(indices.squeeze(1), minlength=self.codebook_size).to(z.dtype)
        usage = counts / indices.shape[0]
        perplexity = torch.exp(-torch.sum(usage * torch.log(usage + 1e-10)))
        stats = {
            'perplexity': perplexity,
            'min_encoding_indices': indices,
            'mean_distance': dist.mean(),
        }
        return z_q.permute(0, 3, 1, 2).contiguous(), loss, stats

    def get_codebook_feat(self, indices: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
        """Codebook vectors for ``indices`` as a (B, C, H, W) map; ``shape`` is (B, H, W, C)."""
        z_q = self.embedding(indices.reshape(-1)).view(*shape)
        return z_q.permute(0, 3, 1, 2).contiguous()


class VQAutoEncoder(nn.Module):
    """Encoder -> quantizer -> generator. ``forward`` returns (image, codebook loss, quantizer stats)."""

    def __init__(self, img_size: int = 512, nf: int = 64, ch_mult: Sequence[int] = (1, 2, 2, 4, 4, 8),
                 quantizer: str = 'nearest', res_blocks: int = 2, attn_resolutions: Sequence[int] = (16, ),
                 codebook_size: int = 1024, emb_dim: int = 256, beta: float = 0.25,
                 model_path: str | None = None):
        super().__init__()
        if quantizer != 'nearest':
            raise ValueError(f"quantizer {quantizer!r} is not supported: the released models use 'nearest'")
        self.in_channels = 3
        self.nf = nf
        self.ch_mult = tuple(ch_mult)
        self.n_blocks = res_blocks
        self.codebook_size = codebook_size
        self.embed_dim = emb_dim
        self.resolution = img_size
        self.attn_resolutions = tuple(attn_resolutions)
        self.encoder = Encoder(3, nf, emb_dim, self.ch_mult, res_blocks, img_size, self.attn_resolutions)
        self.quantize = VectorQuantizer(codebook_size, emb_dim, beta)
        self.generator = Generator(nf, emb_dim, self.ch_mult, res_blocks, img_size, self.attn_resolutions)
        if model_path is not None:
            load_network_weights(self, model_path)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict]:
        z = self.encoder(x)
        z_q, codebook_loss, stats = self.quantize(z)
        return self.generator(z_q), codebook_loss, stats


class VQGANDiscriminator(nn.Module):
    """PatchGAN discriminator of stage I."""

    def __init__(self, nc: int = 3, ndf: int = 64, n_layers: int = 4, model_path: str | None = None):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=False),
                nn.BatchNorm2d(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.main = nn.Sequential(*layers)
        if model_path is not None:
            load_network_weights(self, model_path, keys=('params_d', 'params'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)

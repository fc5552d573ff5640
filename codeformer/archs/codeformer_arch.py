"""CodeFormer: a transformer predicts codebook indices from a degraded face; controllable feature
fusion (weight ``w``) carries encoder detail into the fixed VQGAN generator.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from codeformer.archs.vqgan_arch import ResBlock, VQAutoEncoder
from codeformer.utils.checkpoint import load_network_weights

CH_MULT = (1, 2, 2, 4, 4, 8)
# By level (0 = full resolution, 512 in the released model; 5 = 16x16): the index into encoder.blocks
# after which that level's feature is taken, and into generator.blocks after which it is fused back.
ENCODER_TAPS = (2, 5, 8, 11, 14, 18)
GENERATOR_FUSE_POINTS = (21, 18, 15, 12, 9, 6)


def calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel spatial mean and std (unbiased variance plus ``eps``), shaped (B, C, 1, 1)."""
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)
    std = (flat.var(dim=2) + eps).sqrt().view(b, c, 1, 1)
    return flat.mean(dim=2).view(b, c, 1, 1), std


def adaptive_instance_normalization(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Give ``content`` the per-channel statistics of ``style``."""
    style_mean, style_std = calc_mean_std(style)
    content_mean, content_std = calc_mean_std(content)
    return (content - content_mean) / content_std * style_std + style_mean


class TransformerSALayer(nn.Module):
    """Pre-norm self-attention layer on (sequence, batch, dim) tensors."""

    def __init__(self, embed_dim: int, nhead: int = 8, dim_mlp: int = 2048, dropout: float = 0.0):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(embed_dim, nhead, dropout=dropout)
        self.linear1 = nn.Linear(embed_dim, dim_mlp)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_mlp, embed_dim)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, query_pos: torch.Tensor | None = None) -> torch.Tensor:
        y = self.norm1(x)
        qk = y if query_pos is None else y + query_pos
        x = x + self.dropout1(self.self_attn(qk, qk, value=y, need_weights=False)[0])
        y = self.linear2(self.dropout(F.gelu(self.linear1(self.norm2(x)))))
        return x + self.dropout2(y)


class FuseSFTBlock(nn.Module):
    """Spatial feature transform of decoder features conditioned on encoder features."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.encode_enc = ResBlock(2 * in_ch, out_ch)
        self.scale = nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.LeakyReLU(0.2, True),
                                   nn.Conv2d(out_ch, out_ch, 3, 1, 1))
        self.shift = nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.LeakyReLU(0.2, True),
                                   nn.Conv2d(out_ch, out_ch, 3, 1, 1))

    def forward(self, enc_feat: torch.Tensor, dec_feat: torch.Tensor, w: float | torch.Tensor = 1.0) -> torch.Tensor:
        """``w``: a float, or one weight per sample shaped (B, 1, 1, 1)."""
        cond = self.encode_enc(torch.cat([enc_feat, dec_feat], dim=1))
        return dec_feat + w * (dec_feat * self.scale(cond) + self.shift(cond))


class CodeFormer(VQAutoEncoder):
    """The CodeFormer network with the released checkpoints' names, shapes and call signature.

    ``FP32_PARTS`` stay in float32 when ``runtime.prepare_for_inference`` puts the network in half precision: the
    transformer that predicts the codes, its logits and the codebook. Choosing a code is the step half precision
    changes most (an argmax over 1024 close logits); the transformer is about 1 % of the work. The convolutions
    (encoder, generator, fusion) run in the chosen dtype, or, under the split policy (``runtime.Precision``), the
    encoder stays in float32 too, so every code is float32's; ``forward`` casts at the boundaries (the encoder's
    dtype in, the generator's for decoding).
    """

    FP32_PARTS = ('position_emb', 'feat_emb', 'ft_layers', 'idx_pred_layer', 'quantize')

    def __init__(self, dim_embd: int = 512, n_head: int = 8, n_layers: int = 9, codebook_size: int = 1024,
                 latent_size: int = 256, connect_list: Sequence[str] = ('32', '64', '128', '256'),
                 fix_modules: Sequence[str] = ('quantize', 'generator'), vqgan_path: str | None = None,
                 model_path: str | None = None, img_size: int = 512, nf: int = 64):
        # img_size and nf go beyond the official signature (which fixes 512 and 64) so that tests and
        # smoke training can build the same layout small; attention stays at the deepest level.
        deepest = img_size // 2**(len(CH_MULT) - 1)
        super().__init__(img_size, nf, CH_MULT, 'nearest', 2, (deepest, ), codebook_size)
        if latent_size != deepest * deepest:
            raise ValueError(f'latent_size {latent_size} does not fit img_size {img_size} (expected {deepest**2})')
        # resolution string -> level; connect_list names resolutions as the official option files do
        self._level = {str(img_size // 2**lvl): lvl for lvl in range(len(CH_MULT))}
        if vqgan_path is not None:  # before the transformer exists, so the load is strict
            load_network_weights(self, vqgan_path)
        for name in fix_modules or ():
            for param in getattr(self, name).parameters():
                param.requires_grad = False

        self.connect_list = [str(c) for c in connect_list]
        self.n_layers = n_layers
        self.dim_embd = dim_embd
        self.dim_mlp = dim_embd * 2
        self.latent_size = latent_size

        self.position_emb = nn.Parameter(torch.zeros(latent_size, dim_embd))
        self.feat_emb = nn.Linear(256, dim_embd)
        self.ft_layers = nn.Sequential(
            *[TransformerSALayer(dim_embd, n_head, self.dim_mlp, 0.0) for _ in range(n_layers)])
        self.idx_pred_layer = nn.Sequential(nn.LayerNorm(dim_embd), nn.Linear(dim_embd, codebook_size, bias=False))
        unknown = [f for f in self.connect_list if f not in self._level]
        if unknown:
            raise ValueError(f'connect_list {unknown} names no resolution of a {img_size}px network')
        channels = {f: nf * CH_MULT[self._level[f]] for f in self.connect_list}
        self.fuse_convs_dict = nn.ModuleDict({f: FuseSFTBlock(channels[f], channels[f]) for f in self.connect_list})

        for module in (self.feat_emb, self.ft_layers, self.idx_pred_layer):
            module.apply(_init_transformer_weights)

        if model_path is not None:
            load_network_weights(self, model_path)

    @staticmethod
    def config_from_state_dict(state: dict[str, torch.Tensor]) -> dict:
        """Constructor arguments that fit a checkpoint's names and shapes (heads: 8, as released)."""
        codebook_size = state['quantize.embedding.weight'].shape[0]
        latent_size, dim_embd = state['position_emb'].shape
        n_layers = 1 + max(int(k.split('.')[1]) for k in state if k.startswith('ft_layers.'))
        side = int(round(latent_size**0.5))
        connect = sorted({k.split('.')[1] for k in state if k.startswith('fuse_convs_dict.')}, key=int)
        return {
            'dim_embd': int(dim_embd), 'n_head': 8 if dim_embd % 8 == 0 else 1, 'n_layers': n_layers,
            'codebook_size': int(codebook_size), 'latent_size': int(latent_size), 'connect_list': connect,
            'img_size': side * 2**(len(CH_MULT) - 1), 'nf': int(state['encoder.blocks.0.weight'].shape[0]),
        }

    def encode(self, x: torch.Tensor, taps: Sequence[str] = ()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Encoder output and the features at the resolutions in ``taps``."""
        wanted = {ENCODER_TAPS[self._level[f]] for f in taps}
        feats = {}
        for i, block in enumerate(self.encoder.blocks):
            x = block(x)
            if i in wanted:
                feats[str(x.shape[-1])] = x
        return x, feats

    def predict_logits(self, lq_feat: torch.Tensor) -> torch.Tensor:
        """Logits over the codebook, (B, HW, codebook_size)."""
        lq_feat = lq_feat.to(self.position_emb.dtype)
        pos = self.position_emb.unsqueeze(1).expand(-1, lq_feat.shape[0], -1)
        query = self.feat_emb(lq_feat.flatten(2).permute(2, 0, 1))
        for layer in self.ft_layers:
            query = layer(query, query_pos=pos)
        return self.idx_pred_layer(query).permute(1, 0, 2)

    def decode(self, quant_feat: torch.Tensor, enc_feats: dict[str, torch.Tensor], w: float | torch.Tensor,
               fuse: bool | None = None) -> torch.Tensor:
        """Generator pass with fusion of encoder features at ``connect_list``, weighted by ``w`` (a float, or a (B,)
        tensor: one weight per sample). ``fuse`` (default: any w > 0) decides whether the fusion runs at all."""
        if fuse is None:
            fuse = _any_positive(w)
        fuse_at = {GENERATOR_FUSE_POINTS[self._level[f]]: f for f in self.connect_list} if fuse else {}
        if isinstance(w, torch.Tensor):
            w = w.reshape(-1, 1, 1, 1).to(quant_feat.dtype)
        x = quant_feat
        for i, block in enumerate(self.generator.blocks):
            x = block(x)
            if i in fuse_at:
                f = fuse_at[i]
                x = self.fuse_convs_dict[f](enc_feats[f].detach().to(x.dtype), x, w)
        return x

    def forward(self, x: torch.Tensor, w: float | torch.Tensor | Sequence[float] = 0, detach_16: bool = True,
                code_only: bool = False, adain: bool = False, weight: float | torch.Tensor | None = None,
                logits_hook: Callable[[torch.Tensor], torch.Tensor] | None = None):
        """``w`` (fidelity, 0..1): a float for the whole batch, or one value per sample (a (B,) tensor or a sequence;
        a single value is broadcast). ``weight`` is an alias of ``w`` (the name spandrel and ONNX exports use).

        ``logits_hook``: called with the logits (B, HW, codebook_size), returns the code indices (B, HW) to decode
        instead of their argmax, so a caller can pick codes with context the network does not have (the video
        loop's temporal mode, ``codeformer.video.temporal``). The logits returned are the network's own.

        The fusion runs when any sample's w is above 0 and is multiplied by each sample's w, so a sample at 0 gets
        exactly what a batch at 0 gets. Under tracing or export it always runs, so w stays an input of the graph.
        """
        if weight is not None:
            w = weight
        w = _fidelity(w, x.shape[0], x.device)
        fuse = True if _exporting() else _any_positive(w)
        # At w = 0 (and for code-only training) no encoder tap is used: skip keeping them.
        taps = self.connect_list if (fuse and not code_only) else ()
        lq_feat, enc_feats = self.encode(x.to(self.encoder.blocks[0].weight.dtype), taps)
        logits = self.predict_logits(lq_feat)
        if code_only:
            return logits, lq_feat
        top_idx = logits.argmax(dim=2) if logits_hook is None else logits_hook(logits).to(logits.device).long()
        side = int(round(self.latent_size**0.5))
        quant_feat = self.quantize.get_codebook_feat(top_idx, (x.shape[0], side, side, self.embed_dim))
        if detach_16:
            quant_feat = quant_feat.detach()
        if adain:
            quant_feat = adaptive_instance_normalization(quant_feat, lq_feat.to(quant_feat.dtype))
        return self.decode(quant_feat.to(self.generator.blocks[0].weight.dtype), enc_feats, w, fuse), logits, lq_feat


def _fidelity(w: float | torch.Tensor | Sequence[float], batch: int, device: torch.device) -> float | torch.Tensor:
    """A float stays a float; anything else becomes a float32 (B,) tensor on ``device``."""
    if isinstance(w, (int, float)):
        return float(w)
    w = torch.as_tensor(w, dtype=torch.float32, device=device).reshape(-1)
    if _exporting():  # one value or one per sample: both broadcast in ``decode``
        return w
    if w.numel() == 1:
        return w.expand(batch)
    if w.numel() != batch:
        raise ValueError(f'w has {w.numel()} values for a batch of {batch}')
    return w


def _any_positive(w: float | torch.Tensor) -> bool:
    return bool((w > 0).any()) if isinstance(w, torch.Tensor) else w > 0


def _exporting() -> bool:
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()


def _init_transformer_weights(module: nn.Module) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        module.weight.data.normal_(mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, nn.LayerNorm):
        module.bias.data.zero_()
        module.weight.data.fill_(1.0)

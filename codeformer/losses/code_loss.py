"""Cross-entropy between predicted code logits and the target code indices (CodeFormer stages II/III).

basicsr has no classification loss; the transformer's output is a distribution over codebook entries at
every latent position, so the loss takes logits shaped (B, positions, codebook) as the network returns them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn


@LOSS_REGISTRY.register()
class CrossEntropyLoss(nn.Module):
    """Mean cross-entropy of ``logits`` (B, N, K) against ``indices`` (B, N), times ``loss_weight``."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.permute(0, 2, 1), indices.long()) * self.loss_weight

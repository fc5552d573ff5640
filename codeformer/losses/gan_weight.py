"""The adaptive weight of the generator's GAN loss (taming-transformers, used by every CodeFormer stage).

A fixed GAN weight is either drowned by the reconstruction loss early on or dominates it later; scaling
the GAN term by the ratio of the two losses' gradient norms at the generator's last layer keeps their
pull on the output comparable throughout training.
"""
from __future__ import annotations

import torch
from basicsr.utils.registry import LOSS_REGISTRY
from torch import nn


def adaptive_gan_weight(recon_loss: torch.Tensor, gan_loss: torch.Tensor, last_layer: torch.Tensor,
                        max_weight: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """``||d recon / d last|| / (||d gan / d last|| + eps)``, clamped to [0, max_weight] and detached.

    Both graphs are kept (``retain_graph``) because the caller still backpropagates the total loss.
    """
    recon_grad = torch.autograd.grad(recon_loss, last_layer, retain_graph=True)[0]
    gan_grad = torch.autograd.grad(gan_loss, last_layer, retain_graph=True)[0]
    weight = recon_grad.norm() / (gan_grad.norm() + eps)
    return weight.clamp(0.0, max_weight).detach()


@LOSS_REGISTRY.register()
class AdaptiveGANWeight(nn.Module):
    """Option-file face of :func:`adaptive_gan_weight`: ``scale`` multiplies the clamped weight
    (CodeFormer stage III uses 0.1 so the GAN term stays a light touch on the fused output).
    """

    def __init__(self, max_weight: float = 1.0, scale: float = 1.0, eps: float = 1e-4):
        super().__init__()
        self.max_weight = max_weight
        self.scale = scale
        self.eps = eps

    def forward(self, recon_loss: torch.Tensor, gan_loss: torch.Tensor, last_layer: torch.Tensor) -> torch.Tensor:
        return adaptive_gan_weight(recon_loss, gan_loss, last_layer, self.max_weight, self.eps) * self.scale

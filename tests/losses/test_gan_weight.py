"""The adaptive GAN weight (gradient-norm ratio at the last layer, clamped) and the code cross-entropy."""
import pytest
import torch
import torch.nn.functional as F

import codeformer  # noqa: F401  isort: skip
from basicsr.losses import build_loss

from codeformer.losses import AdaptiveGANWeight, CrossEntropyLoss, adaptive_gan_weight


def losses(scale_recon: float, scale_gan: float):
    last = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    recon = scale_recon * (last**2).sum()  # gradient 2 * scale_recon * last
    gan = scale_gan * last.sum()  # gradient scale_gan * (1, 1)
    return last, recon, gan


def test_weight_is_the_ratio_of_gradient_norms():
    last, recon, gan = losses(0.1, 2.0)
    expected = (0.2 * torch.tensor([1.0, 2.0])).norm() / (2.0 * torch.ones(2).norm() + 1e-4)
    weight = adaptive_gan_weight(recon, gan, last)
    torch.testing.assert_close(weight, expected)
    assert not weight.requires_grad
    (recon + weight * gan).backward()  # both graphs are still there
    assert last.grad is not None


def test_weight_is_clamped_and_scaled():
    last, recon, gan = losses(100.0, 0.01)
    assert adaptive_gan_weight(recon, gan, last, max_weight=1.0).item() == 1.0
    module = build_loss({'type': 'AdaptiveGANWeight', 'max_weight': 1.0, 'scale': 0.1})
    assert isinstance(module, AdaptiveGANWeight)
    assert module(recon, gan, last).item() == pytest.approx(0.1)


def test_cross_entropy_over_codes():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 8)
    idx = torch.randint(0, 8, (2, 4))
    loss = build_loss({'type': 'CrossEntropyLoss', 'loss_weight': 0.5})
    assert isinstance(loss, CrossEntropyLoss)
    torch.testing.assert_close(loss(logits, idx), 0.5 * F.cross_entropy(logits.reshape(8, 8), idx.reshape(8)))

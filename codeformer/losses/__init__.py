"""Losses basicsr lacks, registered in its LOSS_REGISTRY so option files name them by ``type``."""
from codeformer.losses.code_loss import CrossEntropyLoss
from codeformer.losses.gan_weight import AdaptiveGANWeight, adaptive_gan_weight
from codeformer.losses.lpips_loss import LPIPSLoss, MissingWeightsError

__all__ = ['AdaptiveGANWeight', 'CrossEntropyLoss', 'LPIPSLoss', 'MissingWeightsError', 'adaptive_gan_weight']

"""Stage I: train the VQGAN (autoencoder + codebook) that fixes CodeFormer's discrete face prior."""
from __future__ import annotations

import torch
from basicsr.utils.registry import MODEL_REGISTRY

from codeformer.models.base import FaceModelBase


@MODEL_REGISTRY.register()
class VQGANModel(FaceModelBase):
    """Reconstruct clean faces through the codebook: L1 + LPIPS + codebook loss + adaptive hinge GAN.

    Extra train option: ``codebook_loss_weight`` (default 1). The network input is the clean face itself.
    """

    def setup_losses(self) -> None:
        super().setup_losses()
        self.codebook_weight = float(self.train_opt.get('codebook_loss_weight', 1.0))

    def feed_data(self, data: dict) -> None:
        self.gt = data['gt'].to(self.device)
        self.lq = self.gt

    def last_layer(self) -> torch.Tensor:
        return self.get_bare_model(self.net_g).generator.blocks[-1].weight

    def optimize_parameters(self, current_iter: int) -> None:
        self.optimizer_g.zero_grad()
        self.output, l_codebook, stats = self.net_g(self.gt)
        loss_dict: dict[str, torch.Tensor] = {}
        recon = self.reconstruction_losses(self.output, self.gt, loss_dict)
        loss_dict['l_codebook'] = l_codebook * self.codebook_weight
        total = recon + loss_dict['l_codebook']
        use_d = self.uses_discriminator(current_iter)
        if use_d:
            total = total + self.generator_gan_loss(self.output, recon, loss_dict)
        total.backward()
        self.optimizer_g.step()
        loss_dict['perplexity'] = stats['perplexity']
        if use_d:
            self.discriminator_step(self.gt, self.output, current_iter, loss_dict)
        self.finish_step(loss_dict)

    def test(self) -> None:
        net = getattr(self, 'net_g_ema', self.net_g)
        was_training = net.training
        net.eval()
        with torch.no_grad():
            self.output = net(self.lq)[0]
        net.train(was_training)

"""What the CodeFormer training models share on top of basicsr's SRModel: EMA, an optional patch
discriminator with a hinge loss and the adaptive generator weight, saving, and [0, 1] visuals.

SRModel already builds ``net_g`` from ``network_g``, loads ``pretrain_network_g``, runs validation and
saves ``params``/``params_ema``; the stages differ only in how a training step computes its losses.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import torch
from basicsr.archs import build_network
from basicsr.losses import build_loss
from basicsr.models.sr_model import SRModel
from basicsr.utils import get_root_logger
from torch import nn


class OptionError(ValueError):
    """An option file asks for something the model cannot do; the message says which option."""


class FaceModelBase(SRModel):
    """SRModel with EMA, an optional discriminator (``network_d``) and helpers for the GAN terms.

    Train options used here: ``ema_decay``, ``optim_g``/``optim_d``, ``scheduler``, ``gan_opt``,
    ``adaptive_gan_opt`` (an AdaptiveGANWeight; without it the GAN term has weight 1), ``net_d_start_iter``
    (first iteration that uses the discriminator), ``net_d_iters`` (update D every N iterations).
    """

    net_d: nn.Module | None = None

    def init_training_settings(self) -> None:
        self.net_g.train()
        self.train_opt = self.opt['train']
        self.setup_ema()
        self.setup_discriminator()
        self.setup_losses()
        self.setup_optimizers()
        self.setup_schedulers()

    # -- construction -------------------------------------------------------------------------------------
    def setup_ema(self) -> None:
        """An EMA copy of net_g (what releases and inference use), loaded from the pretrain file if any."""
        self.ema_decay = float(self.train_opt.get('ema_decay', 0) or 0)
        if self.ema_decay <= 0:
            return
        get_root_logger().info(f'Use Exponential Moving Average with decay: {self.ema_decay}')
        self.net_g_ema = build_network(self.opt['network_g']).to(self.device)
        load_path = self.opt['path'].get('pretrain_network_g')
        if load_path is not None:
            self.load_network(self.net_g_ema, load_path, self.opt['path'].get('strict_load_g', True), 'params_ema')
        else:
            self.model_ema(0)
        self.net_g_ema.eval()

    def setup_discriminator(self) -> None:
        if self.opt.get('network_d') is None:
            self.net_d = None
            return
        self.net_d = self.model_to_device(build_network(self.opt['network_d']))
        self.print_network(self.net_d)
        load_path = self.opt['path'].get('pretrain_network_d')
        if load_path is not None:
            self.load_network(self.net_d, load_path, self.opt['path'].get('strict_load_d', True),
                              self.opt['path'].get('param_key_d', 'params'))
        self.net_d.train()
        self.net_d_iters = int(self.train_opt.get('net_d_iters', 1))
        self.net_d_start_iter = int(self.train_opt.get('net_d_start_iter', 0))

    def build_optional_loss(self, key: str) -> nn.Module | None:
        """The loss configured under ``train.<key>``, on the model's device, or None when absent."""
        spec = self.train_opt.get(key)
        return build_loss(spec).to(self.device) if spec else None

    def setup_losses(self) -> None:
        self.cri_pix = self.build_optional_loss('pixel_opt')
        self.cri_perceptual = self.build_optional_loss('perceptual_opt')
        self.cri_gan = self.build_optional_loss('gan_opt') if self.net_d is not None else None
        self.gan_weight = self.build_optional_loss('adaptive_gan_opt')

    def setup_optimizers(self) -> None:
        params = [p for p in self.net_g.parameters() if p.requires_grad]
        optim_opt = dict(self.train_opt['optim_g'])
        self.optimizer_g = self.get_optimizer(optim_opt.pop('type'), params, **optim_opt)
        self.optimizers.append(self.optimizer_g)
        if self.net_d is not None:
            optim_opt = dict(self.train_opt['optim_d'])
            self.optimizer_d = self.get_optimizer(optim_opt.pop('type'), self.net_d.parameters(), **optim_opt)
            self.optimizers.append(self.optimizer_d)

    # -- training helpers ---------------------------------------------------------------------------------
    def uses_discriminator(self, current_iter: int) -> bool:
        return self.net_d is not None and self.cri_gan is not None and current_iter > self.net_d_start_iter

    def last_layer(self) -> torch.Tensor:
        """The generator weight at which the adaptive GAN weight compares gradient norms."""
        raise NotImplementedError

    def reconstruction_losses(self, output: torch.Tensor, gt: torch.Tensor, loss_dict: dict) -> torch.Tensor:
        """Pixel + perceptual loss of ``output`` (both optional); entries go into ``loss_dict``."""
        total = output.new_zeros(())
        if self.cri_pix is not None:
            loss_dict['l_pix'] = self.cri_pix(output, gt)
            total = total + loss_dict['l_pix']
        if self.cri_perceptual is not None:
            loss_dict['l_lpips'] = self.cri_perceptual(output, gt)
            total = total + loss_dict['l_lpips']
        return total

    def generator_gan_loss(self, output: torch.Tensor, recon_loss: torch.Tensor, loss_dict: dict) -> torch.Tensor:
        """The weighted hinge generator loss; D is frozen for this pass so only G receives gradients."""
        for p in self.net_d.parameters():
            p.requires_grad = False
        l_g_gan = self.cri_gan(self.net_d(output), True, is_disc=False)
        if self.gan_weight is not None and recon_loss.requires_grad:
            weight = self.gan_weight(recon_loss, l_g_gan, self.last_layer())
        else:
            weight = torch.ones((), device=output.device)
        loss_dict['l_g_gan'] = l_g_gan
        loss_dict['gan_weight'] = weight
        return weight * l_g_gan

    def discriminator_step(self, gt: torch.Tensor, output: torch.Tensor, current_iter: int, loss_dict: dict) -> None:
        """One hinge update of D on real ``gt`` and the detached ``output``."""
        if current_iter % self.net_d_iters != 0:
            return
        for p in self.net_d.parameters():
            p.requires_grad = True
        self.optimizer_d.zero_grad()
        real = self.net_d(gt)
        l_d_real = self.cri_gan(real, True, is_disc=True)
        fake = self.net_d(output.detach())
        l_d_fake = self.cri_gan(fake, False, is_disc=True)
        (l_d_real + l_d_fake).backward()
        self.optimizer_d.step()
        loss_dict.update(l_d_real=l_d_real, l_d_fake=l_d_fake, out_d_real=real.detach().mean(),
                         out_d_fake=fake.detach().mean())

    def finish_step(self, loss_dict: Mapping[str, torch.Tensor]) -> None:
        self.log_dict = self.reduce_loss_dict(OrderedDict((k, v.detach()) for k, v in loss_dict.items()))
        if self.ema_decay > 0:
            self.model_ema(decay=self.ema_decay)

    # -- outputs ------------------------------------------------------------------------------------------
    def get_current_visuals(self) -> OrderedDict:
        """Images in [0, 1] as basicsr's validation (tensor2img) expects; the networks work in [-1, 1]."""
        out = OrderedDict()
        out['lq'] = ((self.lq.detach().cpu() + 1) / 2).clamp(0, 1)
        out['result'] = ((self.output.detach().cpu() + 1) / 2).clamp(0, 1)
        if hasattr(self, 'gt'):
            out['gt'] = ((self.gt.detach().cpu() + 1) / 2).clamp(0, 1)
        return out

    def save(self, epoch: int, current_iter: int) -> None:
        if hasattr(self, 'net_g_ema'):
            self.save_network([self.net_g, self.net_g_ema], 'net_g', current_iter, param_key=['params', 'params_ema'])
        else:
            self.save_network(self.net_g, 'net_g', current_iter)
        if self.net_d is not None:
            self.save_network(self.net_d, 'net_d', current_iter)
        self.save_training_state(epoch, current_iter)

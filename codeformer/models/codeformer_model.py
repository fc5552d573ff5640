"""Stages II and III, colorization and inpainting: the CodeFormer network trained on corrupted faces.

All of them share one training step (:meth:`CodeFormerModelBase.train_step`): predict codes from the
input, supervise them with the clean face's code indices (cross-entropy + L2 of the encoder output to
the target codebook vectors) and, unless the step is code-only, decode with fidelity weight ``w`` and add
L1 + LPIPS + adaptive hinge GAN on the image. The models differ in which input, ``w`` and losses a
given iteration uses.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from basicsr.archs import build_network
from basicsr.utils import get_root_logger
from basicsr.utils.registry import MODEL_REGISTRY

from codeformer.models.base import FaceModelBase, OptionError


class CodeFormerModelBase(FaceModelBase):
    """Shared set-up and step. Train options beside the base ones: ``codes_opt`` (CrossEntropyLoss on the
    logits), ``feat_opt`` (MSELoss between encoder output and target codebook vectors), ``adain`` (used
    when decoding, default False). The target code indices come from the dataset (``latent_gt_path``) or,
    failing that, from a fixed VQGAN built from ``network_vqgan`` (give it ``model_path``).
    """

    default_w = 0.0  # fidelity weight of validation images unless val.fidelity_weight says otherwise
    test_adain: bool | None = None  # None: decode validation images as in training (train.adain)
    code_only_steps = False  # True where some steps leave the fusion blocks (trainable) without gradients

    def __init__(self, opt: dict) -> None:
        if self.code_only_steps:  # else DistributedDataParallel stops at the 2nd step, waiting for their gradients
            opt.setdefault('find_unused_parameters', True)
        super().__init__(opt)

    def setup_losses(self) -> None:
        super().setup_losses()
        self.cri_codes = self.build_optional_loss('codes_opt')
        self.cri_feat = self.build_optional_loss('feat_opt')
        self.adain = bool(self.train_opt.get('adain', False))
        self.vqgan = None
        if self.opt.get('network_vqgan') is not None:
            if not self.opt['network_vqgan'].get('model_path'):
                raise OptionError('network_vqgan needs model_path: the trained stage-I weights that define the targets')
            self.vqgan = build_network(self.opt['network_vqgan']).to(self.device).eval()
            for p in self.vqgan.parameters():
                p.requires_grad = False
        train_set = (self.opt.get('datasets') or {}).get('train')
        if self.needs_codes and self.vqgan is None and train_set is not None and not train_set.get('latent_gt_path'):
            raise OptionError(self.NO_TARGETS)

    NO_TARGETS = ('code losses need target indices: set datasets.train.latent_gt_path '
                  '(scripts/generate_latent_gt.py) or a network_vqgan with its model_path')

    def feed_data(self, data: dict) -> None:
        self.gt = data['gt'].to(self.device)
        self.lq = data['lq'].to(self.device) if 'lq' in data else self.gt
        self.latent_gt = data['latent_gt'].to(self.device) if 'latent_gt' in data else None

    @property
    def needs_codes(self) -> bool:
        return self.cri_codes is not None or self.cri_feat is not None

    @torch.no_grad()
    def target_indices(self) -> torch.Tensor:
        """Code indices (B, HW) of the clean faces: precomputed, or encoded by the fixed VQGAN."""
        if self.latent_gt is not None:
            return self.latent_gt.long()
        if self.vqgan is None:
            raise RuntimeError(self.NO_TARGETS)
        _, _, stats = self.vqgan.quantize(self.vqgan.encoder(self.gt))
        return stats['min_encoding_indices'].view(self.gt.shape[0], -1)

    def last_layer(self) -> torch.Tensor:
        """The generator's last conv, or, when the generator is frozen (stages III and later), the last
        conv of the ``shift`` branch of the fusion block at the largest resolution."""
        net = self.get_bare_model(self.net_g)
        last = net.generator.blocks[-1].weight
        if last.requires_grad:
            return last
        largest = max(net.connect_list, key=int)
        return net.fuse_convs_dict[largest].shift[-1].weight

    def code_losses(self, logits: torch.Tensor, lq_feat: torch.Tensor, loss_dict: dict) -> torch.Tensor:
        total = lq_feat.new_zeros(())
        if not self.needs_codes:
            return total
        indices = self.target_indices()
        if self.cri_codes is not None:
            loss_dict['l_ce'] = self.cri_codes(logits, indices)
            total = total + loss_dict['l_ce']
        if self.cri_feat is not None:
            b, c, h, w = lq_feat.shape
            quantize = self.get_bare_model(self.net_g).quantize
            target = quantize.get_codebook_feat(indices, (b, h, w, c)).detach()
            loss_dict['l_feat'] = self.cri_feat(lq_feat, target)
            total = total + loss_dict['l_feat']
        return total

    def train_step(self, current_iter: int, lq: torch.Tensor, w: float, code_only: bool) -> None:
        """One generator update (and a discriminator update when an image was decoded and D is on)."""
        self.lq = lq
        self.optimizer_g.zero_grad()
        loss_dict: dict[str, torch.Tensor] = {}
        if code_only:
            logits, lq_feat = self.net_g(lq, w=0, code_only=True)
            self.output = None
        else:
            self.output, logits, lq_feat = self.net_g(lq, w=w, detach_16=True, adain=self.adain)
        total = self.code_losses(logits, lq_feat, loss_dict)
        use_d = self.output is not None and self.uses_discriminator(current_iter)
        if self.output is not None:
            recon = self.reconstruction_losses(self.output, self.gt, loss_dict)
            total = total + recon
            if use_d:
                total = total + self.generator_gan_loss(self.output, recon, loss_dict)
        total.backward()
        self.optimizer_g.step()
        if use_d:
            self.discriminator_step(self.gt, self.output, current_iter, loss_dict)
        self.finish_step(loss_dict)

    def test(self) -> None:
        """Restore ``self.lq`` with the EMA network at ``val.fidelity_weight`` (default: the model's w)."""
        net = getattr(self, 'net_g_ema', self.net_g)
        w = float((self.opt.get('val') or {}).get('fidelity_weight', self.default_w))
        adain = self.adain if self.test_adain is None else self.test_adain
        was_training = net.training
        net.eval()
        with torch.no_grad():
            self.output = net(self.lq, w=w, adain=adain)[0]
        net.train(was_training)


@MODEL_REGISTRY.register()
class CodeFormerIdxModel(CodeFormerModelBase):
    """Stage II (and colorization): learn to predict the clean face's codes from the corrupted one (w = 0,
    code-only: the frozen VQGAN generator is not run during training)."""

    test_adain = True  # as inference runs a w = 0 model
    code_only_steps = True

    def optimize_parameters(self, current_iter: int) -> None:
        self.train_step(current_iter, self.lq, w=0.0, code_only=True)


@MODEL_REGISTRY.register()
class CodeFormerModel(CodeFormerModelBase):
    """One input and a fixed fidelity weight (``train.fidelity_weight``, default 1): the inpainting model."""

    def setup_losses(self) -> None:
        super().setup_losses()
        self.default_w = float(self.train_opt.get('fidelity_weight', 1.0))

    def optimize_parameters(self, current_iter: int) -> None:
        self.train_step(current_iter, self.lq, w=self.default_w, code_only=False)


@dataclass(frozen=True)
class Phase:
    """What one iteration trains on: ``input`` 'small' or 'large', fidelity ``w``, ``code_only``."""

    input: str
    w: float = 0.0
    code_only: bool = False


def parse_curriculum(spec: Sequence[Mapping]) -> list[tuple[int | None, Phase, int | None, Phase | None]]:
    """Validate ``train.curriculum``: a list of phases in order, each ``{until, input, w, code_only}``
    (``until`` inclusive, None/absent = to the end), optionally with ``every: N`` and ``alternate: {...}``,
    a phase used on iterations divisible by N instead."""
    if not spec:
        raise OptionError('CodeFormerJointModel needs train.curriculum (a list of phases)')
    phases = []
    for i, entry in enumerate(spec):
        entry = dict(entry)
        until = entry.pop('until', None)
        every = entry.pop('every', None)
        alternate = entry.pop('alternate', None)
        if (every is None) != (alternate is None):
            raise OptionError(f'curriculum phase {i}: give both every and alternate, or neither')
        main = _phase(entry, i)
        alt = _phase(dict(alternate), i) if alternate is not None else None
        phases.append((None if until is None else int(until), main, None if every is None else int(every), alt))
    return phases


def _phase(entry: Mapping, i: int) -> Phase:
    unknown = set(entry) - {'input', 'w', 'code_only'}
    if unknown or entry.get('input') not in ('small', 'large'):
        raise OptionError(f"curriculum phase {i}: needs input 'small' or 'large' and only w, code_only "
                         f'beside it (got {dict(entry)})')
    return Phase(entry['input'], float(entry.get('w', 0.0)), bool(entry.get('code_only', False)))


def curriculum_phase(current_iter: int, phases: Sequence[tuple]) -> Phase:
    """The phase that applies at ``current_iter`` (1-based, as basicsr counts)."""
    for until, main, every, alt in phases:
        if until is None or current_iter <= until:
            if every and current_iter % every == 0:
                return alt
            return main
    until, main, every, alt = phases[-1]  # past the last bound: keep the last phase
    return alt if every and current_iter % every == 0 else main


@MODEL_REGISTRY.register()
class CodeFormerJointModel(CodeFormerModelBase):
    """Stage III: controllable fusion, trained on small- and large-degradation inputs by a curriculum
    (``train.curriculum``) that moves w and the degradation level over the iterations."""

    code_only_steps = True

    def setup_losses(self) -> None:
        super().setup_losses()
        self.curriculum = parse_curriculum(self.train_opt.get('curriculum'))
        self.default_w = float(self.train_opt.get('fidelity_weight', 1.0))
        get_root_logger().info(f'Curriculum: {self.curriculum}')

    def feed_data(self, data: dict) -> None:
        super().feed_data(data)
        self.lq_small = data['lq_small'].to(self.device) if 'lq_small' in data else self.lq
        self.lq_large = data['lq_large'].to(self.device) if 'lq_large' in data else self.lq

    def optimize_parameters(self, current_iter: int) -> None:
        phase = curriculum_phase(current_iter, self.curriculum)
        lq = self.lq_small if phase.input == 'small' else self.lq_large
        self.train_step(current_iter, lq, w=phase.w, code_only=phase.code_only)

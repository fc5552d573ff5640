"""The training models, built through basicsr's registry from option dicts with tiny 64 px networks."""
from pathlib import Path

import pytest
import torch
import yaml

import codeformer  # noqa: F401  isort: skip
from basicsr.models import build_model

import codeformer.models  # noqa: F401  (registers the models)
from codeformer.archs import VQAutoEncoder
from codeformer.models.codeformer_model import Phase, curriculum_phase, parse_curriculum

pytestmark = pytest.mark.slow  # trains: optimisation steps of the three models

ROOT = Path(__file__).resolve().parents[2]
VQGAN = {'type': 'VQAutoEncoder', 'img_size': 64, 'nf': 32, 'ch_mult': [1, 2, 2, 4, 4, 8], 'attn_resolutions': [2],
         'codebook_size': 32}
CODEFORMER = {'type': 'CodeFormer', 'dim_embd': 64, 'n_head': 8, 'n_layers': 2, 'codebook_size': 32, 'latent_size': 4,
              'connect_list': ['8', '16'], 'img_size': 64, 'nf': 32, 'fix_modules': ['quantize', 'generator']}
DISC = {'type': 'VQGANDiscriminator', 'nc': 3, 'ndf': 16, 'n_layers': 2}
ADAM = {'type': 'Adam', 'lr': 1e-3, 'betas': [0.9, 0.99]}
CODE_LOSSES = {'codes_opt': {'type': 'CrossEntropyLoss', 'loss_weight': 0.5},
               'feat_opt': {'type': 'MSELoss', 'loss_weight': 1.0}}
IMAGE_LOSSES = {'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1.0},
                'gan_opt': {'type': 'GANLoss', 'gan_type': 'hinge', 'loss_weight': 1.0},
                'adaptive_gan_opt': {'type': 'AdaptiveGANWeight', 'max_weight': 1.0, 'scale': 0.1}}


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    """Tiny networks gain nothing from two threads, and lose a lot when the cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='module')
def vqgan_file(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('vqgan') / 'vqgan.pth'
    net = VQAutoEncoder(**{k: v for k, v in VQGAN.items() if k != 'type'})
    torch.save({'params_ema': net.state_dict()}, path)
    return str(path)


def make(model_type: str, network_g: dict, train: dict, **extra):
    opt = {'name': 'unit', 'model_type': model_type, 'num_gpu': 0, 'dist': False, 'rank': 0, 'world_size': 1,
           'is_train': True, 'network_g': network_g, 'path': {'pretrain_network_g': None},
           'train': {'optim_g': dict(ADAM), 'optim_d': dict(ADAM),
                     'scheduler': {'type': 'MultiStepLR', 'milestones': [100], 'gamma': 0.5}, 'ema_decay': 0.9,
                     **train}}
    opt.update(extra)
    torch.manual_seed(0)
    return build_model(opt)


def batch(with_latent: bool = True, joint: bool = False) -> dict:
    torch.manual_seed(1)
    gt = torch.rand(2, 3, 64, 64) * 2 - 1
    data = {'gt': gt}
    if joint:
        data['lq_small'] = (gt + 0.1 * torch.randn_like(gt)).clamp(-1, 1)
        data['lq_large'] = (gt + 0.5 * torch.randn_like(gt)).clamp(-1, 1)
    else:
        data['lq'] = (gt + 0.3 * torch.randn_like(gt)).clamp(-1, 1)
    if with_latent:
        data['latent_gt'] = torch.randint(0, 32, (2, 4))
    return data


def snapshot(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, module: torch.nn.Module, prefix: str) -> bool:
    now = module.state_dict()
    return any(not torch.equal(v, now[k]) for k, v in before.items() if k.startswith(prefix))


def test_vqgan_model_discriminator_starts_late():
    model = make('VQGANModel', VQGAN, {'pixel_opt': IMAGE_LOSSES['pixel_opt'], 'gan_opt': IMAGE_LOSSES['gan_opt'],
                                       'adaptive_gan_opt': {'type': 'AdaptiveGANWeight'}, 'net_d_start_iter': 1},
                 network_d=DISC)
    assert model.last_layer() is model.net_g.generator.blocks[-1].weight
    d0 = snapshot(model.net_d)
    model.feed_data(batch(False))
    model.optimize_parameters(1)
    assert not changed(d0, model.net_d, '') and 'l_g_gan' not in model.log_dict
    assert {'l_pix', 'l_codebook', 'perplexity'} <= set(model.log_dict)
    model.optimize_parameters(2)
    assert changed(d0, model.net_d, 'main.')
    assert 0 <= model.log_dict['gan_weight'] <= 1 and 'l_d_real' in model.log_dict


def test_idx_model_trains_encoder_and_transformer_only(vqgan_file):
    model = make('CodeFormerIdxModel', {**CODEFORMER, 'vqgan_path': vqgan_file}, CODE_LOSSES)
    before = snapshot(model.net_g)
    model.feed_data(batch())
    model.optimize_parameters(1)
    assert set(model.log_dict) == {'l_ce', 'l_feat'}
    for frozen in ('quantize.', 'generator.', 'fuse_convs_dict.'):
        assert not changed(before, model.net_g, frozen), frozen
    for trained in ('encoder.', 'ft_layers.', 'idx_pred_layer.', 'position_emb'):
        assert changed(before, model.net_g, trained), trained
    assert model.output is None  # code-only: the generator never ran


def test_targets_from_the_fixed_vqgan_equal_its_codes(vqgan_file):
    model = make('CodeFormerIdxModel', {**CODEFORMER, 'vqgan_path': vqgan_file}, CODE_LOSSES,
                 network_vqgan={**VQGAN, 'model_path': vqgan_file})
    data = batch(with_latent=False)
    model.feed_data(data)
    reference = VQAutoEncoder(**{k: v for k, v in VQGAN.items() if k != 'type'})
    reference.load_state_dict(torch.load(vqgan_file)['params_ema'])
    with torch.no_grad():
        _, _, stats = reference.quantize(reference.encoder(data['gt']))
    assert torch.equal(model.target_indices(), stats['min_encoding_indices'].view(2, -1))


def test_no_target_source_is_a_clear_error(vqgan_file):
    model = make('CodeFormerIdxModel', {**CODEFORMER, 'vqgan_path': vqgan_file}, CODE_LOSSES)
    model.feed_data(batch(with_latent=False))
    with pytest.raises(RuntimeError, match='latent_gt_path'):
        model.optimize_parameters(1)


def test_missing_target_source_is_found_before_training(vqgan_file):
    datasets = {'train': {'name': 'x', 'type': 'FFHQBlindDataset', 'latent_gt_path': None}}
    with pytest.raises(ValueError, match='latent_gt_path'):
        make('CodeFormerIdxModel', {**CODEFORMER, 'vqgan_path': vqgan_file}, CODE_LOSSES, datasets=datasets)
    with pytest.raises(ValueError, match='model_path'):
        make('CodeFormerIdxModel', {**CODEFORMER, 'vqgan_path': vqgan_file}, CODE_LOSSES, datasets=datasets,
             network_vqgan=VQGAN)


def test_joint_model_follows_the_curriculum(vqgan_file):
    curriculum = [{'until': 1, 'input': 'small', 'w': 1.0}, {'input': 'large', 'code_only': True}]
    model = make('CodeFormerJointModel', {**CODEFORMER, 'vqgan_path': vqgan_file},
                 {**CODE_LOSSES, **IMAGE_LOSSES, 'curriculum': curriculum, 'net_d_start_iter': 0}, network_d=DISC)
    # generator frozen: the adaptive weight is taken at the largest fusion block's shift conv
    assert model.last_layer() is model.net_g.fuse_convs_dict['16'].shift[-1].weight
    before, d0 = snapshot(model.net_g), snapshot(model.net_d)
    model.feed_data(batch(joint=True))
    model.optimize_parameters(1)
    assert {'l_ce', 'l_feat', 'l_pix', 'l_g_gan', 'gan_weight', 'l_d_real'} <= set(model.log_dict)
    assert model.log_dict['gan_weight'] <= 0.1 + 1e-6
    assert torch.equal(model.lq, model.lq_small)
    assert changed(before, model.net_g, 'fuse_convs_dict.') and not changed(before, model.net_g, 'generator.')
    assert changed(d0, model.net_d, 'main.')
    model.optimize_parameters(2)
    assert set(model.log_dict) == {'l_ce', 'l_feat'} and torch.equal(model.lq, model.lq_large)


def test_codeformer_model_decodes_at_its_fixed_w(vqgan_file):
    model = make('CodeFormerModel', {**CODEFORMER, 'vqgan_path': vqgan_file},
                 {**CODE_LOSSES, 'pixel_opt': IMAGE_LOSSES['pixel_opt'], 'fidelity_weight': 1.0})
    assert model.default_w == 1.0
    before = snapshot(model.net_g)
    model.feed_data(batch())
    model.optimize_parameters(1)
    assert {'l_ce', 'l_feat', 'l_pix'} <= set(model.log_dict) and model.output.shape == (2, 3, 64, 64)
    assert changed(before, model.net_g, 'fuse_convs_dict.')
    model.test()
    assert model.output.shape == (2, 3, 64, 64)
    visuals = model.get_current_visuals()
    assert visuals['result'].min() >= 0 and visuals['result'].max() <= 1


def test_published_curriculum():
    opt = yaml.safe_load((ROOT / 'options' / 'CodeFormer_stage3.yml').read_text())
    phases = parse_curriculum(opt['train']['curriculum'])
    small1, small13, code = Phase('small', 1.0), Phase('small', 1.3), Phase('large', 0.0, True)
    cases = {1: small1, 40000: small1, 40001: small13, 80000: small13, 80001: code, 120000: code, 120001: code,
             120015: small13, 120016: code, 150000: small13, 149999: code}
    for it, expected in cases.items():
        assert curriculum_phase(it, phases) == expected, it


@pytest.mark.parametrize('bad', [[], [{'input': 'medium'}], [{'input': 'small', 'every': 3}],
                                 [{'input': 'small', 'lr': 1}]])
def test_bad_curriculum_is_rejected(bad):
    with pytest.raises(ValueError, match='curriculum'):
        parse_curriculum(bad)

"""Training every stage as a user does: the real commands in subprocesses, on faces the test writes.

The smoke configurations (options/smoke/) run in one work folder in the order a user follows: stage I
(stopped after 15 iterations, then resumed with --auto_resume), latent codes, stage II, stage III,
colorization, inpainting; then export and inference with the trained checkpoint. Each training process
uses one thread: on two cores shared with other work, two OpenMP threads stall far more than they gain.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

pytestmark = pytest.mark.slow  # trains: the three stages end to end, in subprocesses

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / 'options' / 'smoke'
LOG_LINE = re.compile(r'iter:\s*([\d,]+), lr:\(([^,]+),\)\] .*?\] (.*)$')


def run(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT),
                'CODEFORMER_MIRROR': 'http://127.0.0.1:9/none', **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout)


def check(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f'exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc


def train(work: Path, config: str, *extra: str, module: bool = False) -> subprocess.CompletedProcess:
    entry = ['-m', 'codeformer.train'] if module else [str(ROOT / 'codeformer' / 'train.py')]
    return check(run(*entry, '-opt', str(SMOKE / config), *extra, cwd=work))


def write_faces(folder: Path, count: int = 4, size: int = 96, seed: int = 0) -> None:
    """Face-like drawings (skin oval, eyes, mouth on a plain background), different in colour and shape."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        img = np.full((size, size, 3), rng.integers(10, 140, 3), np.uint8)
        c = size // 2 + int(rng.integers(-4, 5))
        skin = tuple(int(v) for v in rng.integers(90, 240, 3))
        cv2.ellipse(img, (c, size // 2), (size // 3 + int(rng.integers(-4, 5)), size * 2 // 5), 0, 0, 360, skin, -1)
        for dx in (-1, 1):
            cv2.circle(img, (c + dx * size // 8, size * 2 // 5), 4, (30, 30, 30), -1)
        cv2.ellipse(img, (c, size * 2 // 3), (size // 8, 4), 0, 0, 180, (60, 60, 170), -1)
        cv2.imwrite(str(folder / f'{i:05d}.png'), img)


def log_records(work: Path, name: str) -> list[tuple[int, float, dict[str, float]]]:
    """(iteration, lr, losses) of every logged iteration of a run, over all its log files, in order."""
    records = []
    for log in sorted((work / 'experiments' / name).glob('train_*.log')):
        for line in log.read_text().splitlines():
            match = LOG_LINE.search(line)
            if match:
                values = dict(re.findall(r'(\w+): ([-\d.e+]+)', match.group(3)))
                records.append((int(match.group(1).replace(',', '')), float(match.group(2)),
                                {k: float(v) for k, v in values.items()}))
    return records


def series(records, key: str) -> list[float]:
    return [losses[key] for _, _, losses in records if key in losses]


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    path = tmp_path_factory.mktemp('train')
    write_faces(path / 'datasets' / 'smoke_faces')
    yield path
    shutil.rmtree(path / 'experiments', ignore_errors=True)  # about 1.5 GB of checkpoints


@pytest.fixture(scope='module')
def stage1(work):
    """Stage I stopped after 15 of its 30 iterations, then continued with --auto_resume."""
    first = train(work, 'vqgan_stage1.yml', '--force_yml', 'train:total_iter=15')
    second = train(work, 'vqgan_stage1.yml', '--auto_resume', module=True)
    return first, second


@pytest.fixture(scope='module')
def latent(work, stage1):
    out = work / 'experiments' / 'smoke_vqgan' / 'latent_gt_code32.pth'
    check(run(str(ROOT / 'scripts' / 'generate_latent_gt.py'), '--vqgan',
              'experiments/smoke_vqgan/models/net_g_latest.pth', '--input', 'datasets/smoke_faces', '--size', '64',
              '-o', str(out), cwd=work))
    return out


@pytest.fixture(scope='module')
def stage2(work, latent):
    return train(work, 'codeformer_stage2.yml', module=True)


@pytest.fixture(scope='module')
def stage3(work, stage2):
    return train(work, 'codeformer_stage3.yml')


@pytest.fixture(scope='module')
def exported(work, stage3):
    out = work / 'release' / 'codeformer_smoke.pth'
    proc = check(run(str(ROOT / 'scripts' / 'export_weights.py'),
                     'experiments/smoke_codeformer_stage3/models/net_g_latest.pth', '-o', str(out), cwd=work))
    assert 'EMA tensors' in proc.stdout
    return out


def test_stage1_reconstruction_loss_goes_down(work, stage1):
    l_pix = series(log_records(work, 'smoke_vqgan'), 'l_pix')
    assert len(l_pix) == 30
    assert np.mean(l_pix[-5:]) < 0.8 * np.mean(l_pix[:5]), l_pix


def test_stage1_discriminator_joins_late(work, stage1):
    records = log_records(work, 'smoke_vqgan')
    with_gan = [it for it, _, losses in records if 'l_g_gan' in losses]
    assert with_gan == list(range(21, 31))  # net_d_start_iter 20
    assert all(0 <= losses['gan_weight'] <= 1 for _, _, losses in records if 'gan_weight' in losses)


def test_stopped_run_resumes_from_its_last_state(work, stage1):
    first, second = stage1
    run_dir = work / 'experiments' / 'smoke_vqgan'
    logs = sorted(run_dir.glob('train_*.log'))
    assert len(logs) == 2 and not list((work / 'experiments').glob('smoke_vqgan_archived*'))
    resumed = logs[1].read_text()
    assert 'Resuming training from epoch: ' in resumed and 'iter: 15.' in resumed
    records = log_records(work, 'smoke_vqgan')
    assert [it for it, _, _ in records] == list(range(1, 31))  # nothing repeated, nothing skipped
    lrs = {it: lr for it, lr, _ in records}
    # the scheduler continued (a restarted one would be back at 1e-3) and the weights were reloaded
    assert lrs[16] < lrs[15] < lrs[1]
    assert series(records, 'l_pix')[15] < 0.8 * series(records, 'l_pix')[0]
    for name in ('models/net_g_15.pth', 'models/net_g_30.pth', 'models/net_d_30.pth', 'training_states/15.state',
                 'training_states/30.state', 'models/net_g_latest.pth'):
        assert (run_dir / name).is_file(), name


def test_latent_codes_file(work, latent):
    sys.path.insert(0, str(ROOT / 'scripts'))
    try:
        from generate_latent_gt import build_vqgan, encode, read_faces
    finally:
        sys.path.remove(str(ROOT / 'scripts'))
    table = torch.load(latent, weights_only=True)
    names = [f'{i:05d}' for i in range(4)]
    assert set(table) == {'orig', 'hflip'} and sorted(table['orig']) == names and sorted(table['hflip']) == names
    net = build_vqgan(str(work / 'experiments/smoke_vqgan/models/net_g_latest.pth'), 64)
    for name, img in read_faces(str(work / 'datasets' / 'smoke_faces'), 64):
        codes = table['orig'][name]
        assert codes.shape == (4, ) and codes.dtype == torch.int64 and int(codes.max()) < 32
        assert torch.equal(codes, encode(net, img[None])[0])
        assert torch.equal(table['hflip'][name], encode(net, img[None].flip(-1))[0])


def test_stage2_cross_entropy_goes_down(work, stage2):
    l_ce = series(log_records(work, 'smoke_codeformer_stage2'), 'l_ce')
    assert len(l_ce) == 30
    assert l_ce[0] == pytest.approx(0.5 * np.log(32), rel=0.15)  # starts near chance over 32 codes
    assert np.mean(l_ce[-5:]) < 0.8 * np.mean(l_ce[:5]), l_ce
    assert 'l_pix' not in log_records(work, 'smoke_codeformer_stage2')[0][2]  # code-only: no image loss


def test_stage3_follows_the_curriculum(work, stage3):
    records = log_records(work, 'smoke_codeformer_stage3')
    assert [it for it, _, _ in records] == list(range(1, 17))
    image_steps = [it for it, _, losses in records if 'l_pix' in losses]
    assert image_steps == [1, 2, 3, 4, 5, 6, 7, 8, 15]  # code-only from 9 on, except every 3rd in the mixed phase
    assert all('l_ce' in losses and 'l_feat' in losses for _, _, losses in records)
    gan = [it for it, _, losses in records if 'l_g_gan' in losses]
    assert gan == [3, 4, 5, 6, 7, 8, 15]  # the discriminator starts after iteration 2
    assert all(losses['gan_weight'] <= 0.1 + 1e-6 for _, _, losses in records if 'gan_weight' in losses)
    run_dir = work / 'experiments' / 'smoke_codeformer_stage3'
    ckpt = torch.load(run_dir / 'models' / 'net_g_latest.pth', weights_only=True)
    assert set(ckpt) == {'params', 'params_ema'}


def test_stage3_validation_images_and_psnr(work, stage3):
    run_dir = work / 'experiments' / 'smoke_codeformer_stage3'
    log = next(run_dir.glob('train_*.log')).read_text()
    assert re.search(r'Validation smoke_faces_val\s+# psnr: \d+\.\d+', log)
    saved = {p.name for p in (run_dir / 'visualization').rglob('*.png')}
    assert {f'{i:05d}_16.png' for i in range(4)} <= saved  # basicsr validates again after the last iteration


@pytest.mark.parametrize('config,name,image_loss', [('colorization.yml', 'smoke_codeformer_colorization', False),
                                                    ('inpainting.yml', 'smoke_codeformer_inpainting', True)])
def test_colorization_and_inpainting_train(work, latent, config, name, image_loss):
    train(work, config)
    records = log_records(work, name)
    assert [it for it, _, _ in records] == list(range(1, 9))
    assert all(('l_pix' in losses) == image_loss and 'l_ce' in losses for _, _, losses in records)
    assert (work / 'experiments' / name / 'models' / 'net_g_latest.pth').is_file()


def test_export_writes_only_the_ema_weights(work, exported):
    trained = work / 'experiments' / 'smoke_codeformer_stage3' / 'models' / 'net_g_latest.pth'
    ckpt = torch.load(trained, weights_only=True)
    release = torch.load(exported, weights_only=True)
    assert set(release) == {'params_ema'}
    assert release['params_ema'].keys() == ckpt['params_ema'].keys()
    assert all(torch.equal(v, ckpt['params_ema'][k]) for k, v in release['params_ema'].items())
    assert 0.4 < exported.stat().st_size / trained.stat().st_size < 0.6


def test_export_refuses_a_file_without_ema_weights(work, stage1):
    proc = run(str(ROOT / 'scripts' / 'export_weights.py'), 'experiments/smoke_vqgan/models/net_d_latest.pth',
               '-o', 'x.pth', cwd=work)
    assert proc.returncode == 2 and 'no params_ema' in proc.stderr and 'Traceback' not in proc.stderr
    assert not (work / 'x.pth').exists()


@pytest.mark.skipif(not (ROOT / 'inference_codeformer.py').exists(), reason='inference_codeformer.py not there yet')
@pytest.mark.parametrize('which', ['exported', 'training'])
def test_stage3_checkpoint_restores_a_face(work, exported, which):
    ckpt = exported if which == 'exported' else work / 'experiments/smoke_codeformer_stage3/models/net_g_latest.pth'
    faces = work / f'aligned_{which}'
    write_faces(faces, count=2, size=128, seed=7)
    out = work / f'restored_{which}'
    proc = check(run(str(ROOT / 'inference_codeformer.py'), '--model_path', str(ckpt), '--has_aligned',
                     '--input_path', str(faces), '-o', str(out), '--device', 'cpu', cwd=work))
    results = sorted(p for p in out.rglob('*.png'))
    assert len(results) == 2, (proc.stdout[-2000:], sorted(out.rglob('*')))
    for path in results:
        img = cv2.imread(str(path))
        assert img is not None and img.shape[2] == 3 and img.std() > 0


def test_missing_lpips_weights_stop_the_published_config_with_one_message(tmp_path):
    write_faces(tmp_path / 'datasets' / 'ffhq' / 'ffhq_512', count=1, size=64)
    config = ROOT / 'options' / 'VQGAN_512_ds32_nearest_stage1.yml'
    proc = run(str(ROOT / 'codeformer' / 'train.py'), '-opt', str(config), cwd=tmp_path,
               env={'TORCH_HOME': str(tmp_path / 'torch_home')})
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'error: LPIPSLoss needs pretrained weights' in proc.stderr and 'Traceback' not in proc.stderr


def test_missing_code_targets_stop_with_one_message(work, stage1):
    proc = run(str(ROOT / 'codeformer' / 'train.py'), '-opt', str(SMOKE / 'codeformer_stage2.yml'), '--force_yml',
               'datasets:train:latent_gt_path=~', 'name=smoke_no_targets', cwd=work)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert 'error: code losses need target indices' in proc.stderr and 'Traceback' not in proc.stderr


def published(name: str) -> dict:
    return yaml.safe_load((ROOT / 'options' / name).read_text())


def test_published_stage1_hyperparameters():
    opt = published('VQGAN_512_ds32_nearest_stage1.yml')
    t = opt['train']
    assert opt['model_type'] == 'VQGANModel' and opt['network_g']['codebook_size'] == 1024
    assert (t['optim_g']['lr'], t['optim_g']['betas']) == (7e-5, [0.9, 0.99])
    assert t['scheduler'] == {'type': 'CosineAnnealingRestartLR', 'periods': [1600000], 'restart_weights': [1],
                              'eta_min': 6e-5}
    assert t['total_iter'] == 1600000 and t['ema_decay'] == 0.995 and t['net_d_start_iter'] == 30000
    assert opt['datasets']['train']['batch_size_per_gpu'] == 4 and opt['datasets']['train']['degrade'] is False
    assert t['perceptual_opt']['type'] == 'LPIPSLoss' and t['adaptive_gan_opt']['max_weight'] == 1.0


def test_published_stage2_and_3_hyperparameters():
    s2, s3 = published('CodeFormer_stage2.yml'), published('CodeFormer_stage3.yml')
    t2, t3 = s2['train'], s3['train']
    assert (t2['codes_opt']['loss_weight'], t2['feat_opt']['loss_weight']) == (0.5, 1.0) and 'pixel_opt' not in t2
    assert t2['optim_g']['lr'] == 1e-4 and t2['scheduler']['milestones'] == [400000, 450000]
    assert t2['scheduler']['gamma'] == 0.5 and t2['total_iter'] == 500000 and t2['ema_decay'] == 0.995
    assert s2['datasets']['train']['jpeg_range'] == [30, 80] and s2['datasets']['train']['downsample_range'] == [4, 30]
    assert t3['optim_g']['lr'] == 5e-5 and t3['scheduler']['eta_min'] == 2e-5 and t3['total_iter'] == 150000
    assert t3['ema_decay'] == 0.997 and t3['net_d_start_iter'] == 5000 and t3['adaptive_gan_opt']['scale'] == 0.1
    d3 = s3['datasets']['train']
    assert (d3['blur_sigma'], d3['downsample_range'], d3['noise_range'], d3['jpeg_range']) == (
        [0.1, 10], [1, 12], [0, 15], [60, 100])
    assert (d3['blur_sigma_large'], d3['downsample_range_large'], d3['noise_range_large'],
            d3['jpeg_range_large']) == ([1, 15], [4, 30], [0, 20], [30, 80])


def test_published_colorization_and_inpainting():
    color, inpaint = published('CodeFormer_colorization.yml'), published('CodeFormer_inpainting.yml')
    d = color['datasets']['train']
    assert color['model_type'] == 'CodeFormerIdxModel' and color['network_g']['connect_list'] == ['32', '64', '128']
    assert (d['color_jitter_prob'], d['color_jitter_shift'], d['color_jitter_pt_prob'], d['gray_prob']) == (
        0.3, 20, 0.3, 0.01)
    assert (d['brightness'], d['contrast'], d['saturation'], d['hue']) == ([0.5, 1.5], [0.5, 1.5], [0, 1.5],
                                                                            [-0.1, 0.1])
    assert inpaint['model_type'] == 'CodeFormerModel' and inpaint['network_g']['codebook_size'] == 512
    assert inpaint['network_g']['connect_list'] == ['32', '64', '128'] and inpaint['train']['fidelity_weight'] == 1.0
    assert 'brush_stroke' in inpaint['datasets']['train']


@pytest.mark.parametrize('name', sorted(p.name for p in (ROOT / 'options').glob('*.yml')) +
                         sorted(f'smoke/{p.name}' for p in SMOKE.glob('*.yml')))
def test_every_config_names_registered_types_and_eight_heads(name):
    from codeformer.train import register
    register()
    from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, MODEL_REGISTRY

    opt = published(name)
    assert opt['model_type'] in MODEL_REGISTRY
    for key in ('network_g', 'network_d', 'network_vqgan'):
        if key in opt:
            assert opt[key]['type'] in ARCH_REGISTRY
    assert opt['datasets']['train']['type'] in DATASET_REGISTRY
    for key, value in opt['train'].items():
        if key.endswith('_opt'):
            assert value['type'] in LOSS_REGISTRY, value['type']
    if opt['network_g']['type'] == 'CodeFormer':
        assert opt['network_g']['n_head'] == 8
    if name.startswith('smoke/'):
        assert opt['num_gpu'] == 0 and 'perceptual_opt' not in opt['train']

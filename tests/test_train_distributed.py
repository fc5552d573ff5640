"""Training with two processes on the CPU, as users start it: ``torchrun --standalone --nproc_per_node=2
codeformer/train.py -opt <yml> --launcher pytorch``; the processes talk over gloo.

Stage I (VQGAN) trains 4 iterations, then 4 more with ``--auto_resume``; stage II trains 4 iterations on that
stage I's codes, with a validation set added to its smoke configuration. 8 faces, 2 per process and batch, no
dataset enlargement: an epoch is 2 iterations in which each process sees 4 faces. A probe that Python loads at
start-up (``tests/support/train_probe/sitecustomize.py``, put on PYTHONPATH here) records from inside each
process the indices its sampler handed out, the files it wrote under ``experiments/`` and its final weights.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import torch
import yaml

from tests.test_train import log_records, write_faces

pytestmark = pytest.mark.slow  # trains in two processes, three times

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / 'options' / 'smoke'
PROBE = ROOT / 'tests' / 'support' / 'train_probe'
FACES = 8
SMALL = ('datasets:train:dataset_enlarge_ratio=1', 'logger:save_checkpoint_freq=2')
_TORCHRUN = Path(sys.executable).with_name('torchrun')
TORCHRUN = [str(_TORCHRUN)] if _TORCHRUN.exists() else [sys.executable, '-m', 'torch.distributed.run']


class Probe:
    """What the two processes of one run recorded (see the probe's docstring)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.samples: dict[int, dict[int, list[int]]] = {0: defaultdict(list), 1: defaultdict(list)}
        self.writes: dict[int, list[tuple[str, str]]] = {0: [], 1: []}
        for rank in (0, 1):
            for line in (folder / f'rank{rank}.jsonl').read_text().splitlines():
                entry = json.loads(line)
                if entry['kind'] == 'sample':
                    self.samples[rank][entry['epoch']].append(entry['index'])
                else:
                    self.writes[rank].append((entry['how'], entry['path']))

    def weights(self, rank: int) -> dict[str, dict[str, torch.Tensor]]:
        return torch.load(self.folder / f'weights_rank{rank}.pth', weights_only=True)


def torchrun(work: Path, config: Path, probe: str, *extra: str) -> Probe:
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': os.pathsep.join([str(PROBE), str(ROOT)]),
           'CODEFORMER_MIRROR': 'http://127.0.0.1:9/none', 'CODEFORMER_TRAIN_PROBE': str(work / 'probe' / probe)}
    proc = subprocess.run([*TORCHRUN, '--standalone', '--nproc_per_node=2', str(ROOT / 'codeformer' / 'train.py'),
                           '-opt', str(config), '--launcher', 'pytorch', *extra],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f'exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return Probe(work / 'probe' / probe)


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    path = tmp_path_factory.mktemp('train_distributed')
    write_faces(path / 'datasets' / 'smoke_faces', count=FACES, size=64)
    yield path
    shutil.rmtree(path / 'experiments', ignore_errors=True)


@pytest.fixture(scope='module')
def stage1(work):
    """4 iterations (the discriminator from the 3rd on), then on to 8 with --auto_resume."""
    first = torchrun(work, SMOKE / 'vqgan_stage1.yml', 'first', '--force_yml', 'train:total_iter=4',
                     'train:net_d_start_iter=2', *SMALL)
    second = torchrun(work, SMOKE / 'vqgan_stage1.yml', 'resumed', '--auto_resume', '--force_yml',
                      'train:total_iter=8', 'train:net_d_start_iter=2', *SMALL)
    return first, second


@pytest.fixture(scope='module')
def stage2(work, stage1):
    """The smoke stage II, 4 iterations, with the stage-III smoke validation set checked after the 4th."""
    subprocess.run([sys.executable, str(ROOT / 'scripts' / 'generate_latent_gt.py'), '--vqgan',
                    'experiments/smoke_vqgan/models/net_g_latest.pth', '--input', 'datasets/smoke_faces', '--size',
                    '64', '-o', 'experiments/smoke_vqgan/latent_gt_code32.pth'], cwd=work, check=True,
                   env={**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}, capture_output=True)
    opt = yaml.safe_load((SMOKE / 'codeformer_stage2.yml').read_text())
    with_val = yaml.safe_load((SMOKE / 'codeformer_stage3.yml').read_text())
    opt['datasets']['val'] = with_val['datasets']['val']
    opt['val'] = {**with_val['val'], 'val_freq': 4}
    config = work / 'codeformer_stage2.yml'
    config.write_text(yaml.safe_dump(opt, sort_keys=False))
    return torchrun(work, config, 'stage2', '--force_yml', 'train:total_iter=4', *SMALL)


def assert_same_weights(probe: Probe, checkpoint: dict[str, Path]) -> None:
    """Both processes hold the same parameters (gradients were averaged), and rank 0 saved its weights.

    Buffers too, but for BatchNorm's running statistics (in the discriminator): DistributedDataParallel copies
    rank 0's over the others' at every forward pass, so they differ by the last pass's local update only.
    """
    mine, theirs = probe.weights(0), probe.weights(1)
    assert mine.keys() == theirs.keys() and {'net_g', 'net_g_ema'} <= mine.keys()
    for net in mine:
        for kind in ('params', 'buffers'):
            assert mine[net][kind].keys() == theirs[net][kind].keys()
            different = [k for k, v in mine[net][kind].items() if not torch.equal(v, theirs[net][kind][k])]
            if kind == 'buffers':
                different = [k for k in different if not k.endswith(('.running_mean', '.running_var'))]
            assert not different, f'{net} {kind}: the processes differ in {different[:5]}'
    for net, path in checkpoint.items():
        saved = torch.load(path, weights_only=True)
        for key, state in ((net, 'params'), ('net_g_ema', 'params_ema')) if net == 'net_g' else ((net, 'params'),):
            weights = {**mine[key]['params'], **mine[key]['buffers']}
            assert weights.keys() == saved[state].keys()
            assert all(torch.equal(v, saved[state][k]) for k, v in weights.items()), (path, state)


def assert_split(probe: Probe, iterations: int) -> None:
    """In every epoch each process draws different faces, never one twice, and together all of them."""
    epochs = sorted(probe.samples[0])
    assert epochs == sorted(probe.samples[1])
    complete = 0
    for epoch in epochs:
        mine, theirs = probe.samples[0][epoch], probe.samples[1][epoch]
        assert len(set(mine)) == len(mine) and len(set(theirs)) == len(theirs), (epoch, mine, theirs)
        assert not set(mine) & set(theirs), (epoch, mine, theirs)
        if len(mine) + len(theirs) == FACES:
            assert set(mine) | set(theirs) == set(range(FACES))
            complete += 1
    assert complete == iterations // 2  # 2 iterations an epoch


def test_stage1_processes_end_with_the_same_weights(work, stage1):
    models = work / 'experiments' / 'smoke_vqgan' / 'models'
    for probe, last in zip(stage1, (4, 8)):
        assert_same_weights(probe, {'net_g': models / f'net_g_{last}.pth', 'net_d': models / f'net_d_{last}.pth'})


def test_stage2_processes_end_with_the_same_weights(work, stage2):
    assert_same_weights(stage2, {'net_g': work / 'experiments' / 'smoke_codeformer_stage2' / 'models' /
                                 'net_g_latest.pth'})


def test_the_processes_split_the_dataset(stage1, stage2):
    first, resumed = stage1
    assert_split(first, 4)
    assert_split(resumed, 4)  # iterations 5 to 8
    assert_split(stage2, 4)


def test_only_rank_0_writes(work, stage1, stage2):
    for probe in (*stage1, stage2):
        assert probe.writes[1] == []
        seen = {(how, Path(path).name.split('_')[0]) for how, path in probe.writes[0]}
        assert {('open', 'train'), ('torch.save', 'net')} <= seen  # the probe does see rank 0 write them
        repeated = Counter(path for how, path in probe.writes[0] if how in ('torch.save', 'cv2.imwrite'))
        assert all(n == 1 for n in repeated.values()), repeated
    vqgan = work / 'experiments' / 'smoke_vqgan'
    assert sorted(p.name for p in (vqgan / 'models').iterdir()) == sorted(
        [f'net_{n}_{i}.pth' for n in 'dg' for i in (2, 4, 6, 8, 'latest')])
    assert sorted(p.name for p in (vqgan / 'training_states').iterdir()) == ['2.state', '4.state', '6.state', '8.state']
    assert len(list(vqgan.glob('train_*.log'))) == 2 and len(list(vqgan.glob('*.yml'))) == 1
    stage2_dir = work / 'experiments' / 'smoke_codeformer_stage2'
    written = {path for how, path in stage2.writes[0] if how == 'cv2.imwrite'}
    images = {str(p.relative_to(work)) for p in (stage2_dir / 'visualization').rglob('*.png')}
    # validated after iteration 4 and once more at the end (basicsr counts one past the last then)
    assert images == written and {Path(p).name for p in images} == {
        f'{i:05d}_{it}.png' for i in range(FACES) for it in (4, 5)}
    records = log_records(work, 'smoke_codeformer_stage2')
    assert [it for it, _, _ in records] == [1, 2, 3, 4]  # each iteration logged once, by rank 0 alone
    log = next(stage2_dir.glob('train_*.log')).read_text()
    assert 'World size (gpu number): 2' in log and log.count('Validation smoke_faces_val') == 2


def test_auto_resume_continues_from_the_last_state(work, stage1):
    first, resumed = stage1
    logs = sorted((work / 'experiments' / 'smoke_vqgan').glob('train_*.log'))
    assert 'Resuming training from epoch: 1, iter: 4.' in logs[1].read_text()
    records = log_records(work, 'smoke_vqgan')
    assert [it for it, _, _ in records] == list(range(1, 9))  # nothing repeated, nothing skipped
    lrs = {it: lr for it, lr, _ in records}
    assert lrs[5] < lrs[4] < lrs[1]  # the cosine schedule continued
    assert [it for it, _, losses in records if 'l_g_gan' in losses] == [3, 4, 5, 6, 7, 8]
    for rank in (0, 1):  # both processes took up the saved epoch (basicsr saves the one in progress)
        assert min(first.samples[rank]) == 0 and min(resumed.samples[rank]) == 1


def test_launcher_pytorch_without_torchrun_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE')}
    proc = subprocess.run([sys.executable, str(ROOT / 'codeformer' / 'train.py'), '-opt',
                           str(SMOKE / 'vqgan_stage1.yml'), '--launcher', 'pytorch'], cwd=tmp_path,
                          env={**env, 'PYTHONPATH': str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr
    assert 'error: --launcher pytorch is for the processes torchrun starts' in proc.stderr

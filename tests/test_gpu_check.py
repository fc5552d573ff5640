"""benchmarks/gpu_check.py, the one command prepared for a GPU machine: run here on the CPU with a small network, and
its gates judged on figures made up to pass or miss each one."""
import pytest
import torch

from benchmarks.gpu_check import Figures, judge
from codeformer.runtime import precision_policy
from tests.support.cli import run_script


@pytest.mark.slow  # the benchmark script in a subprocess (2-4 min: it compiles the small network)
def test_gpu_check_runs_on_the_cpu_prints_every_row_and_exits_0():
    default = precision_policy(torch.device('cpu')).name  # fp32, or the split policy where bf16 is native
    proc = run_script('benchmarks/gpu_check.py', '--device', 'cpu', '--quick', timeout=900)
    out = proc.stdout
    assert proc.returncode == 0, (out[-3000:], proc.stderr[-2000:])
    assert out.startswith('device: CPU; torch ')
    assert 'CodeFormer faces/s (peak GiB):' in out and 'batch 2' in out
    names = ('fp32', 'bf16-split', 'bf16')
    rows = [line.split()[0] for line in out.splitlines() if line.split()[:1] and line.split()[0] in names]
    assert rows == [*names, *names]  # speed, then parity against strict fp32
    assert f'{default}, compiled, batch 2: ' in out and 'as the official script runs it (fp32, batch 1' in out
    assert f'peak memory at batch 1 ({default}):' in out
    for s in (1, 2):
        start = f'1080p video through the whole loop, one face, -s {s}: '
        line = next(x for x in out.splitlines() if x.startswith(start))
        assert 'frames/s (encoder alone ' in line
    assert '20 photos of 10 sizes: first ' in out
    assert f'default precision here: {default}; parity passes (codes 100.00 % >= 99.7 %' in out
    assert 'FAILS' not in out


def test_the_gates():
    good = Figures(codes=0.998, psnr=41.0, faces_per_second=300, video=(70.0, 80.0), slowest=1.5, median=1.0,
                   peak_batch_1=1.5)
    assert all(g.passes for g in judge(good, cuda=True)) and len(judge(good, cuda=True)) == 6
    assert len(judge(good, cuda=False)) == 2  # on a CPU: parity only
    misses = {
        'codes': Figures(0.99, 41.0, 300, (70.0, 80.0), 1.5, 1.0, 1.5),
        'photo': Figures(0.998, 39.0, 300, (70.0, 80.0), 1.5, 1.0, 1.5),
        'faces/s': Figures(0.998, 41.0, 200, (70.0, 80.0), 1.5, 1.0, 1.5),
        '1080p': Figures(0.998, 41.0, 300, (50.0, 70.0), 1.5, 1.0, 1.5),
        'slowest': Figures(0.998, 41.0, 300, (70.0, 80.0), 2.5, 1.0, 1.5),
        'peak': Figures(0.998, 41.0, 300, (70.0, 80.0), 1.5, 1.0, 2.5),
    }
    for what, figures in misses.items():
        failed = [g.label for g in judge(figures, cuda=True) if not g.passes]
        assert len(failed) == 1 and what in failed[0], (what, failed)
    # 1080p under 60 frames/s passes where the encoder alone is no faster than 1.2x the loop
    assert all(g.passes for g in judge(Figures(0.998, 41.0, 300, (50.0, 59.0), 1.5, 1.0, 1.5), cuda=True))
    assert not judge(Figures(0.998, 41.0, 300, None, 1.5, 1.0, 1.5), cuda=True)[3].passes  # no video measured

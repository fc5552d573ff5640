"""benchmarks/gpu_check.py, the one command prepared for a GPU machine, run here on the CPU with a small network."""
import pytest

from tests.support.cli import run_script

pytestmark = pytest.mark.slow  # the benchmark script in a subprocess (2-4 min: it compiles the small network)


def test_gpu_check_runs_on_the_cpu_and_fails_when_parity_does():
    # the default precision on the CPU (fp32, or the split policy where bf16 is native) picks every code of fp32:
    # ask for more than exact to see the failure path and its exit code
    import torch

    from codeformer.runtime import precision_policy
    default = precision_policy(torch.device('cpu')).name
    proc = run_script('benchmarks/gpu_check.py', '--device', 'cpu', '--quick', '--require-codes', '1.01',
                      timeout=600)
    out = proc.stdout
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert out.startswith('device: CPU; torch ')
    assert 'CodeFormer faces/s (peak GiB):' in out and 'batch 2' in out
    names = ('fp32', 'bf16-split', 'bf16')
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] and line.split()[0] in names}
    assert set(lines) == set(names)
    assert '100.00%' in out  # fp32 against itself: every code equal
    assert f'{default}, compiled, batch 2: ' in out and 'as the official script runs it (fp32, batch 1' in out
    assert f'peak memory at batch 1 ({default}):' in out
    for s in (1, 2):
        assert f'1080p video through the whole loop, one face, -s {s}: ' in out
        assert 'encoder alone' in out.split(f'-s {s}: ')[1].splitlines()[0]
    assert '20 photos of 10 sizes: first ' in out
    assert f'default precision here: {default}; parity FAILS (codes 100.00 % >= 101 %' in out
    assert proc.stdout.count('FAILS') == 1  # the device's own gates apply on CUDA only

"""benchmarks/gpu_check.py, the one command prepared for a GPU machine, run here on the CPU with a small network."""
import pytest

from tests.support.cli import run_script

pytestmark = pytest.mark.slow  # the benchmark script in a subprocess (~45 s)


def test_gpu_check_runs_on_the_cpu_and_fails_when_parity_does():
    # on the CPU the default precision is fp32, whose parity with itself is exact: ask for more than exact to see
    # the failure path and its exit code
    proc = run_script('benchmarks/gpu_check.py', '--device', 'cpu', '--quick', '--require-codes', '1.01',
                      timeout=600)
    out = proc.stdout
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert out.startswith('device: CPU; torch ')
    assert 'CodeFormer faces/s (peak GiB):' in out and 'batch 2' in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] in (['fp32'], ['bf16'])}
    assert set(lines) == {'fp32', 'bf16'}
    assert '100.00%' in out  # fp32 against itself: every code equal
    assert 'whole photo 1024x768, one face:' in out and '1080p frame, one face:' in out
    assert 'default precision here: fp32; parity FAILS (codes 100.00 % >= 101 %' in out

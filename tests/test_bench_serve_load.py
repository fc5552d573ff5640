"""benchmarks/bench_serve_load.py, ``codeformer serve`` under many clients: its quick run passes every gate and
prints every row."""
import pytest

from tests.support.cli import run_script


@pytest.mark.slow  # two real servers in subprocesses, one of them under load (about 30 s)
def test_the_load_benchmark_runs_quick_prints_every_row_and_exits_0():
    proc = run_script('benchmarks/bench_serve_load.py', '--quick', timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, (out[-3000:], proc.stderr[-3000:])
    lines = out.splitlines()
    assert lines[0].startswith('CPU: ') and 'unknown CPU' not in lines[0]
    starts = ('alone: 1 photo client x 5 requests', 'load: 4 photo clients x 5 requests',
              'requests answered by status: 200: ', '503 busy with Retry-After: ', 'GET / during the load: p50 ',
              'peak server memory: ', 'results on disk: ')
    for start in starts:
        assert any(line.startswith(start) for line in lines), start
    busy = next(line for line in lines if line.startswith('503 busy'))
    assert '(without: 0); other 5xx: 0; connections reset: 0; other failures: 0' in busy
    gates = [line for line in lines if line.startswith('gate: ')]
    assert len(gates) == 6 and all(line.endswith(': passes') for line in gates), gates

"""Shards in-process: which shard a file is in (stable, a partition), ``auto`` from torchrun and Slurm, and one GPU
per process; whole sharded runs through the command line: ``tests/cli/test_shards.py``."""
from pathlib import Path

import pytest

from codeformer.batch.checks import UsageError
from codeformer.batch.shards import Shard, local_device, parse_shard, resolve_shard, shard_of


def test_shard_assignment_is_stable_and_a_partition():
    # a hash of the relative path, the same in every process and on every machine (never Python's hash())
    names = [*(f'face{k}.png' for k in range(4)), 'g.jpg', 'g.png', 'deep.png', 'alpha.png', 'broken.jpg']
    assert [shard_of(name, 2) for name in names] == [0, 1, 1, 0, 1, 0, 1, 0, 0]
    assert shard_of('sub/x.png', 7) == shard_of('sub/x.png', 7)
    for count in (1, 2, 3, 5):
        names = [f'img{i:03d}.png' for i in range(200)]
        parts = [{n for n in names if Shard(k, count).holds(n)} for k in range(count)]
        assert set().union(*parts) == set(names) and sum(map(len, parts)) == len(names)
        assert min(map(len, parts)) > 200 / count / 2  # spread, not all in one
    assert Shard(1, 2).report_path(Path('r/report.json')) == Path('r/report.1-of-2.json')


def test_shard_auto_reads_torchrun_then_slurm():
    assert parse_shard('1/4') == Shard(1, 4) and parse_shard('auto') == 'auto'
    assert resolve_shard('auto', {'RANK': '1', 'WORLD_SIZE': '2'}) == Shard(1, 2)
    assert resolve_shard('auto', {'SLURM_PROCID': '3', 'SLURM_NTASKS': '4'}) == Shard(3, 4)
    assert resolve_shard('auto', {'RANK': '0', 'WORLD_SIZE': '2', 'SLURM_PROCID': '3', 'SLURM_NTASKS': '4'}) == \
        Shard(0, 2)
    assert resolve_shard(None, {}) is None
    with pytest.raises(UsageError, match='RANK=.5. and WORLD_SIZE=.2.'):
        resolve_shard('auto', {'RANK': '5', 'WORLD_SIZE': '2'})
    with pytest.raises(UsageError, match='no launcher found'):
        resolve_shard('auto', {})


def test_one_process_per_gpu_takes_the_gpu_of_its_local_rank():
    assert local_device('auto', 4, {'LOCAL_RANK': '2'}) == 'cuda:2'
    assert local_device('auto', 2, {'SLURM_LOCALID': '3'}) == 'cuda:1'
    assert local_device('auto', 1, {'LOCAL_RANK': '2'}) == 'auto'  # one visible GPU (Slurm's --gpus-per-task)
    assert local_device('cpu', 4, {'LOCAL_RANK': '2'}) == 'cpu' and local_device('auto', 4, {}) == 'auto'

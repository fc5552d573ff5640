"""Beyond one process: files per second for one process, one and two shards, Ray with one and two actors, the
scaling ratios (2 against 1), and the Ray path's cost per file against a local run, all measured in one run.

    python benchmarks/bench_scale.py [--network small|full] [--files 24]

Every configuration runs the real command (``codeformer restore --has_aligned``) in a fresh process on the same
aligned faces, with a checkpoint written here (the released weights are not needed: random weights cost the same
time). Ray runs on a local cluster of two nodes with one CPU each, as two one-core machines would be.

Files per second are given twice: over the whole command (start-up, network loading and, for Ray, the cluster's
actors starting), and in the steady state, between the results written at 10 % and at 90 % of the run (no
start-up, no stragglers). The Ray path's cost per file is the steady-state time per file of Ray with one actor on
one CPU against a local process on one thread: both restore the same files one after another, so what differs is
Ray's own work.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codeformer.utils.image_io import write_image  # noqa: E402
from tests.support.nets import save_checkpoint, small_codeformer  # noqa: E402

FACE = ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'


def make_faces(folder: Path, count: int) -> Path:
    face = cv2.imread(str(FACE))
    for k in range(count):
        write_image(folder / f'face{k:04d}.png', np.roll(face, 4 * k, axis=1))
    return folder


def command(src: Path, out: Path, checkpoint: Path, *extra: str) -> list[str]:
    return [sys.executable, '-m', 'codeformer', 'restore', '--has_aligned', '-i', str(src), '-o', str(out),
            '--model_path', str(checkpoint), '--device', 'cpu', '--batch_size', '1', '-q', *extra]


def timed(*commands: list[str], threads: int) -> float:
    """Wall time of ``commands`` started together, each on ``threads`` threads; every one must succeed."""
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'PYTHONPATH': str(ROOT)}
    t0 = time.perf_counter()
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for c in commands]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f'failed ({proc.returncode}): {err}')
    return time.perf_counter() - t0


def steady_rate(times: list[float]) -> float:
    """Files per second between the results written at 10 % and at 90 % of the run: no start-up (for Ray, its
    executor and helper actors starting beside the first rows) and no last stragglers."""
    first, last = len(times) // 10, len(times) - 1 - len(times) // 10
    return (last - first) / (times[last] - times[first])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--network', choices=('small', 'full'), default='small',
                    help='small: the tests\' 64 px network; full: the released 512 px layout (4-5 s a face here)')
    ap.add_argument('--files', type=int, default=96, help='how many faces')
    args = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    from codeformer.archs import CodeFormer

    work = Path(tempfile.mkdtemp(prefix='bench-scale-'))
    threads = os.environ.get('OMP_NUM_THREADS')
    os.environ['OMP_NUM_THREADS'] = '1'  # the cluster's workers: one thread on their one CPU
    cluster = Cluster(initialize_head=True, head_node_args=dict(num_cpus=1, include_dashboard=False,
                                                                object_store_memory=80 * 1024 * 1024))
    try:
        cluster.add_node(num_cpus=1, object_store_memory=80 * 1024 * 1024)
        cluster.wait_for_nodes()
        os.environ.pop('OMP_NUM_THREADS') if threads is None else os.environ.update(OMP_NUM_THREADS=threads)
        net = small_codeformer() if args.network == 'small' else CodeFormer().eval()
        checkpoint = save_checkpoint(net, work / 'net.pth')
        n = args.files
        src = make_faces(work / 'in', n)
        configs = {
            '1 process, 2 threads': ([command(src, work / 'one', checkpoint)], 2),
            '1 shard (1 process, 1 thread)': ([command(src, work / 'local1', checkpoint)], 1),
            '2 shards, 1 thread each': ([command(src, work / 'shards', checkpoint, '--shard', f'{k}/2')
                                         for k in (0, 1)], 1),
            'Ray, 1 actor (1 CPU)': ([command(src, work / 'ray1', checkpoint, '--ray', cluster.address,
                                              '--ray_actors', '1')], 1),
            'Ray, 2 actors on 2 one-CPU nodes': ([command(src, work / 'ray2', checkpoint, '--ray', cluster.address)],
                                                 1),
        }
        results = {}
        for name, (commands, threads) in configs.items():
            wall = timed(*commands, threads=threads)
            out = Path(commands[0][commands[0].index('-o') + 1]) / 'restored_faces'
            results[name] = wall, steady_rate(sorted(p.stat().st_mtime for p in out.iterdir()))
    finally:
        cluster.shutdown()
        ray.shutdown()
        shutil.rmtree(work, ignore_errors=True)

    print(f'network: {args.network}; {n} aligned faces, batch 1; this machine: {os.cpu_count()} CPUs')
    print(f'{"configuration":<34} {"files/s":>8} {"steady":>8} {"wall s":>7} {"steady vs 1 process":>20}')
    base = results['1 process, 2 threads'][1]
    for name, (wall, steady) in results.items():
        print(f'{name:<34} {n / wall:8.2f} {steady:8.2f} {wall:7.1f} {steady / base:19.2f}x')
    steady = {name: s for name, (_, s) in results.items()}
    ray1, ray2 = steady['Ray, 1 actor (1 CPU)'], steady['Ray, 2 actors on 2 one-CPU nodes']
    shard1, shard2 = steady['1 shard (1 process, 1 thread)'], steady['2 shards, 1 thread each']
    print(f'scaling, steady: Ray 2 actors / 1 actor {ray2 / ray1:.2f}x; 2 shards / 1 shard {shard2 / shard1:.2f}x; '
          f'Ray 2 actors / 2 shards {ray2 / shard2:.2f}x')
    local, on_ray = 1 / shard1, 1 / ray1
    print(f'steady time per file on one thread: local {1000 * local:.1f} ms, Ray {1000 * on_ray:.1f} ms: '
          f'Ray overhead {1000 * (on_ray - local):+.1f} ms per file ({100 * (on_ray / local - 1):+.1f} %)')


if __name__ == '__main__':
    main()

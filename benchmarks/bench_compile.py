"""``--compile``: what the first process pays to compile, what a second one pays with the cache on disk, and the speed.

    .venv/bin/python benchmarks/bench_compile.py [--network small|full] [--faces 4]

Three runs of the real command line, each a fresh process on the same aligned faces (``--has_aligned``, fp32, batch
size 1, the released layout's weights drawn by the golden rule with ``--network full``, else the tests' small
network): eager; ``--compile`` with an empty inductor cache (the first run on a machine); ``--compile`` again (its
cache now on disk). Printed: each run's wall time from the command to its last face written, and the seconds per face
inside the run (the report's ``restore`` timing, first face left out, which pays for compiling).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import codeformer  # noqa: E402,F401  (compatibility shims first)
from benchmarks.bench_background import cpu_name  # noqa: E402


def checkpoint(network: str, folder: Path) -> Path:
    import torch

    from tests.support.nets import save_checkpoint, small_codeformer
    if network == 'small':
        return save_checkpoint(small_codeformer(), folder / 'small.pth')
    from codeformer.archs import CodeFormer
    from tests.support.golden import golden_weights
    net = CodeFormer()
    path = folder / 'golden.pth'
    torch.save({'params_ema': golden_weights(net)}, path)
    return path


def run(tmp: Path, name: str, ckpt: Path, cache: Path, compiled: bool) -> tuple[float, float]:
    """(wall seconds of the whole run, seconds per face after the first)."""
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'TORCHINDUCTOR_CACHE_DIR': str(cache)}
    command = [sys.executable, str(ROOT / 'inference_codeformer.py'), '--has_aligned', '-i', str(tmp / 'faces'), '-o',
               str(tmp / name), '--model_path', str(ckpt), '--device', 'cpu', '--precision', 'fp32', '--batch_size',
               '1', '--report', str(tmp / f'{name}.json'), '-q', *(['--compile'] if compiled else [])]
    t0 = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    wall = time.perf_counter() - t0
    seconds = [r['info']['seconds']['restore'] for r in json.loads((tmp / f'{name}.json').read_text())]
    rest = sorted(seconds)[:-1] or seconds  # the first face (the slowest) pays for compiling
    return wall, sum(rest) / len(rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--network', choices=('small', 'full'), default='small')
    parser.add_argument('--faces', type=int, default=4)
    args = parser.parse_args(argv)
    face = cv2.imread(str(ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / 'faces').mkdir()
        for i in range(args.faces):
            cv2.imwrite(str(tmp / 'faces' / f'{i}.png'), cv2.flip(face, 1) if i % 2 else face)
        ckpt = checkpoint(args.network, tmp)
        cache = tmp / 'inductor'
        rows = [('eager', run(tmp, 'eager', ckpt, cache, False)),
                ('--compile, empty cache', run(tmp, 'cold', ckpt, cache, True)),
                ('--compile, cache on disk', run(tmp, 'warm', ckpt, cache, True))]
    print(f'{cpu_name()}; {args.network} network, {args.faces} faces, fp32, batch 1')
    print('| run | command to last face, s | s/face after the first |')
    print('| --- | --- | --- |')
    for label, (wall, per_face) in rows:
        print(f'| {label} | {wall:.1f} | {per_face:.3f} |')
    cold, warm = rows[1][1][0], rows[2][1][0]
    print(f'second process / first: {warm / cold:.2f} (target <= 0.25); compiled / eager per face: '
          f'{rows[2][1][1] / rows[0][1][1]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

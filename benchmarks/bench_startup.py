"""Start-up: time from the command to the first face entering the network, and where it goes.

    python benchmarks/bench_startup.py [--network small|full] [--whole]

Runs ``inference_codeformer.py`` in a fresh process on the sample inputs with a checkpoint written by this
script (the released weights are not needed), and reports the wall time until the first face reaches
CodeFormer, split into interpreter + imports, building the networks, and reading the first image.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r'''
import sys, time, runpy
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import codeformer.restorer as restorer
t_import = time.perf_counter()
original_init, original_restore = restorer.FaceRestorer.__init__, restorer.FaceRestorer.restore_faces
marks = {{}}
def init(self, *a, **k):
    marks.setdefault('build_start', time.perf_counter())
    original_init(self, *a, **k)
    marks['built'] = time.perf_counter()
def restore(self, faces):
    if 'first_face' not in marks:
        marks['first_face'] = time.perf_counter()
        print(f"STARTUP import={{t_import - t0:.3f}} build={{marks['built'] - marks['build_start']:.3f}} "
              f"first_face={{marks['first_face'] - t0:.3f}}", file=sys.stderr, flush=True)
    return original_restore(self, faces)
restorer.FaceRestorer.__init__, restorer.FaceRestorer.restore_faces = init, restore
sys.argv = ['inference_codeformer.py', *sys.argv[1:]]
runpy.run_path({script!r}, run_name='__main__')
'''


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--network', choices=['small', 'full'], default='full')
    ap.add_argument('--whole', action='store_true', help='whole image (mtcnn, no parsing) instead of aligned faces')
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch

    from codeformer.archs import CodeFormer
    from tests.support.nets import save_checkpoint, small_codeformer
    with tempfile.TemporaryDirectory() as tmp:
        net = CodeFormer() if args.network == 'full' else small_codeformer()
        ckpt = save_checkpoint(net, Path(tmp) / 'model.pth')
        del net
        torch.set_num_threads(1)
        cli = ['--model_path', str(ckpt), '-o', str(Path(tmp) / 'out'), '-q']
        if args.whole:
            cli += ['--input_path', str(ROOT / 'inputs/whole_imgs'), '--detection_model', 'mtcnn', '--no_parse']
        else:
            cli += ['--has_aligned', '--input_path', str(ROOT / 'inputs/cropped_faces')]
        code = PROBE.format(root=str(ROOT), script=str(ROOT / 'inference_codeformer.py'))
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, '-c', code, *cli], capture_output=True, text=True,
                              env={**os.environ, 'PYTHONPATH': str(ROOT)})
        total = time.perf_counter() - start
    line = next((x for x in proc.stderr.splitlines() if x.startswith('STARTUP')), None)
    if proc.returncode != 0 or line is None:
        sys.exit(f'run failed ({proc.returncode}): {proc.stderr[-2000:]}')
    parts = dict(kv.split('=') for kv in line.split()[1:])
    print(f'network {args.network}, {"whole image" if args.whole else "aligned faces"}')
    print(f'  imports (torch, codeformer)      {float(parts["import"]):6.2f} s')
    print(f'  building and loading the network {float(parts["build"]):6.2f} s')
    print(f'  command to first face in network {float(parts["first_face"]):6.2f} s (in-process)')
    print(f'  whole run, including the restoration and the interpreter: {total:.2f} s')


if __name__ == '__main__':
    main()

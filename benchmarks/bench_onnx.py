"""onnxruntime against PyTorch: time per face for the full-size CodeFormer on this machine's CPU.

    .venv/bin/python benchmarks/bench_onnx.py [--repeats 3] [--threads N]

The network is exported once (random weights: the same compute as the released ones) to a temporary file; then
each round times one face in PyTorch (our ``FaceRestorer`` path: inference mode, channels-last) and one in
onnxruntime (CPU execution provider), alternately, so that both see the same machine load. Printed: seconds per
face for each, their ratio, and the largest difference between the two outputs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codeformer.archs import CodeFormer  # noqa: E402
from codeformer.onnx_backend import OnnxCodeFormer  # noqa: E402
from codeformer.onnx_export import export_onnx  # noqa: E402
from codeformer.runtime import prepare_for_inference  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('-w', type=float, default=0.5)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = CodeFormer().eval()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = export_onnx(net, Path(tmp) / 'codeformer.onnx')
        print(f'export: {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 1e6:.0f} MB')
        ort_net = OnnxCodeFormer(path)
        torch_net = prepare_for_inference(net, torch.device('cpu'), torch.float32)
        x = (torch.rand(1, 3, 512, 512) * 2 - 1).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():  # warm-up, and the outputs compared
            ref = torch_net(x, w=args.w, adain=True)[0]
        diff = float((ort_net(x, w=args.w)[0] - ref).abs().max())
        times = {'pytorch': [], 'onnxruntime': []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            with torch.inference_mode():
                torch_net(x, w=args.w, adain=True)
            times['pytorch'].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            ort_net(x, w=args.w)
            times['onnxruntime'].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f'torch threads {torch.get_num_threads()}, w {args.w}, {args.repeats} rounds, median s/face:')
    for k, v in med.items():
        print(f'  {k:<12} {v:6.2f} s  (all: {", ".join(f"{t:.2f}" for t in times[k])})')
    print(f'onnxruntime / pytorch: {med["onnxruntime"] / med["pytorch"]:.2f}x; max |difference| {diff:.1e}')
    return 0


if __name__ == '__main__':
    np.set_printoptions(precision=3)
    sys.exit(main())

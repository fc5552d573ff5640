"""Time per face of the full-size CodeFormer network against this machine's compute limit.

    python benchmarks/bench_network.py [--device cpu] [--batch 1 4 8] [--w 0.5] [--repeat 2]

The limit: every convolution of one forward, timed alone on its own shape (same device, dtype and
memory format), summed. The network cannot run faster than its convolutions do in isolation, so
``limit / measured`` is the fraction of the machine the network reaches. FLOPs come from torch's
flop counter. Everything is measured in this one run, so ratios hold on a noisy machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeformer.archs import CodeFormer  # noqa: E402
from codeformer.runtime import precision_policy, prepare_for_inference, select_device  # noqa: E402


def timed(fn, repeat: int) -> float:
    fn()  # warm-up (allocations, oneDNN primitive creation)
    best = float('inf')
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def conv_shapes(net: nn.Module, x: torch.Tensor, w: float | None = None) -> Counter:
    """(in, out, kernel, stride, padding, input H, W, dtype) of every convolution one forward runs
    (CodeFormer is called with ``w``; other networks, with ``w`` None, on ``x`` alone)."""
    seen: Counter = Counter()
    hooks = [m.register_forward_pre_hook(
        lambda m, args: seen.update([(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0],
                                      args[0].shape[-2], args[0].shape[-1], m.weight.dtype)]))
             for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.inference_mode():
        net(x.to(next(net.parameters()).dtype)) if w is None else net(x, w=w, adain=True)
    for h in hooks:
        h.remove()
    return seen


def conv_limit(shapes: Counter, batch: int, device, repeat: int) -> float:
    total = 0.0
    for (cin, cout, k, stride, pad, h, w, dtype), count in shapes.items():
        conv = prepare_for_inference(nn.Conv2d(cin, cout, k, stride, pad), device, dtype)
        x = torch.randn(batch, cin, h, w, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            total += count * timed(lambda conv=conv, x=x: conv(x), repeat)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--device', default='auto')
    ap.add_argument('--batch', type=int, nargs='+', default=[1, 4, 8])
    ap.add_argument('--w', type=float, default=0.5)
    ap.add_argument('--repeat', type=int, default=2)
    ap.add_argument('--precision', default='auto', help='a policy of codeformer.runtime.precision_policy')
    args = ap.parse_args()
    device = select_device(args.device)
    policy = precision_policy(device, args.precision)
    net = prepare_for_inference(CodeFormer(), device, policy.dtype, policy.fp32_parts)
    print(f'device {device}, precision {policy.name}, threads {torch.get_num_threads()}, torch {torch.__version__}, '
          f'w {args.w}')
    x1 = torch.rand(1, 3, 512, 512, device=device) * 2 - 1
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        net(x1, w=args.w, adain=True)
    gflop = counter.get_total_flops() / 1e9
    shapes = conv_shapes(net, x1, args.w)
    print(f'{gflop:.0f} GFLOP per face (forward, w={args.w})')
    print(f'{"batch":>5} {"s/face":>8} {"limit s/face":>12} {"GFLOP/s":>8} {"of limit":>9}')
    for batch in args.batch:
        x = (torch.rand(batch, 3, 512, 512, device=device) * 2 - 1).contiguous(
            memory_format=torch.channels_last)
        with torch.inference_mode():
            measured = timed(lambda x=x: net(x, w=args.w, adain=True), args.repeat) / batch
        limit = conv_limit(shapes, batch, device, args.repeat) / batch
        print(f'{batch:>5} {measured:>8.2f} {limit:>12.2f} {gflop / measured:>8.1f} {limit / measured:>8.0%}')


if __name__ == '__main__':
    main()

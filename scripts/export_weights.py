"""Write the EMA weights of a training checkpoint in the release format, ``{'params_ema': state_dict}``.

    python scripts/export_weights.py experiments/CodeFormer_stage3/models/net_g_latest.pth -o weights/CodeFormer/my.pth

Training saves both the raw (``params``) and the EMA (``params_ema``) weights of net_g, twice the size
of a released file; inference and the next stage need only the EMA ones.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import torch


class ExportError(ValueError):
    """The input is not a training checkpoint with EMA weights; the message says why."""


def export_ema(src: str | os.PathLike, dst: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Copy ``params_ema`` of ``src`` into a new file ``dst`` holding nothing else; returns the state dict."""
    try:
        ckpt = torch.load(os.fspath(src), map_location='cpu', weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise ExportError(f'{src}: not a loadable checkpoint ({type(exc).__name__}: {exc})') from exc
    if not isinstance(ckpt, dict) or 'params_ema' not in ckpt:
        keys = ', '.join(map(str, ckpt)) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ExportError(f'{src}: no params_ema (has: {keys}); train with ema_decay > 0, or pass the net_g_*.pth '
                          'file of the run')
    state = {(k[7:] if k.startswith('module.') else k): v.detach().cpu().contiguous()
             for k, v in ckpt['params_ema'].items()}
    if os.path.dirname(os.path.abspath(dst)):
        os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = f'{dst}.tmp'
    torch.save({'params_ema': state}, tmp)
    os.replace(tmp, dst)  # never leave a half-written release file behind
    return state


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='a net_g_*.pth written by training')
    parser.add_argument('-o', '--output', required=True, help='file to write')
    args = parser.parse_args(argv)
    try:
        state = export_ema(args.checkpoint, args.output)
    except ExportError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    size = os.path.getsize(args.output) / 2**20
    print(f'wrote {len(state)} EMA tensors ({size:.1f} MiB) to {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Precompute the VQGAN code sequence of every training face and of its mirror image.

    python scripts/generate_latent_gt.py --vqgan experiments/VQGAN_512_ds32_nearest_stage1/models/net_g_latest.pth \
        --input datasets/ffhq/ffhq_512 -o experiments/pretrained_models/VQGAN/latent_gt_code1024.pth

Stages II and III supervise the transformer with the codes of the clean face. Encoding every face with
the fixed VQGAN at every iteration costs a forward pass of the encoder per sample; the codes never
change, so they are computed once here. Output: ``{'orig': {name: indices}, 'hflip': {name: indices}}``,
``name`` = file stem (or lmdb key), ``indices`` = int64 tensor of the HxW codes in row-major order — the
file ``datasets.train.latent_gt_path`` names.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import codeformer  # noqa: E402,F401  isort: skip  (compat shim before basicsr)
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from basicsr.utils import FileClient, imfrombytes, img2tensor  # noqa: E402

from codeformer.archs import VQAutoEncoder  # noqa: E402
from codeformer.data.ffhq_blind_dataset import list_images  # noqa: E402
from codeformer.utils.checkpoint import mismatch, read_state_dict  # noqa: E402

CH_MULT = (1, 2, 2, 4, 4, 8)


def build_vqgan(path: str, img_size: int, ch_mult: Sequence[int] = CH_MULT,
                attn_resolutions: Sequence[int] | None = None) -> VQAutoEncoder:
    """The VQGAN of a stage-I checkpoint (EMA weights when present), its size read from the weights."""
    state = read_state_dict(path)
    try:
        nf = state['encoder.blocks.0.weight'].shape[0]
        codebook_size, emb_dim = state['quantize.embedding.weight'].shape
    except KeyError as exc:
        raise SystemExit(f'{path}: not a VQGAN checkpoint (no {exc.args[0]})') from None
    attn = list(attn_resolutions) if attn_resolutions else [img_size // 2**(len(ch_mult) - 1)]
    net = VQAutoEncoder(img_size=img_size, nf=nf, ch_mult=ch_mult, attn_resolutions=attn,
                        codebook_size=codebook_size, emb_dim=emb_dim)
    problem = mismatch(net, state)
    if problem:
        raise SystemExit(f'{path}: does not fit a VQAutoEncoder(img_size={img_size}, nf={nf}, ch_mult={list(ch_mult)}, '
                         f'attn_resolutions={attn}): {problem}. Pass the --size/--ch-mult/--attn of stage I.')
    net.load_state_dict(state, strict=True)
    return net.eval()


def read_faces(root: str, size: int) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, RGB tensor in [-1, 1] at ``size``) for each face of a folder or an ``.lmdb``, as training reads it."""
    backend = 'lmdb' if root.rstrip('/').endswith('.lmdb') else 'disk'
    paths, names = list_images(root, backend)
    kwargs = {'db_paths': [root], 'client_keys': ['gt']} if backend == 'lmdb' else {}
    client = FileClient(backend, **kwargs)
    for path, name in zip(paths, names):
        img = imfrombytes(client.get(path, 'gt'), float32=True)
        if img.shape[:2] != (size, size):
            interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
            img = cv2.resize(img, (size, size), interpolation=interp)
        yield name, img2tensor(np.ascontiguousarray(img), bgr2rgb=True, float32=True) * 2 - 1


@torch.no_grad()
def encode(net: VQAutoEncoder, batch: torch.Tensor) -> torch.Tensor:
    """Code indices (B, HW) of a batch of images in [-1, 1]."""
    _, _, stats = net.quantize(net.encoder(batch))
    return stats['min_encoding_indices'].view(batch.shape[0], -1)


def generate(net: VQAutoEncoder, root: str, size: int, device: torch.device, batch_size: int = 8,
             progress: bool = True) -> dict[str, dict[str, torch.Tensor]]:
    """Codes of every face under ``root`` and of its horizontal mirror."""
    table: dict[str, dict[str, torch.Tensor]] = {'orig': {}, 'hflip': {}}
    names: list[str] = []
    images: list[torch.Tensor] = []

    def flush() -> None:
        batch = torch.stack(images).to(device)
        for key, x in (('orig', batch), ('hflip', batch.flip(-1))):
            for name, idx in zip(names, encode(net, x).cpu()):
                table[key][name] = idx.clone()
        names.clear()
        images.clear()

    for count, (name, img) in enumerate(read_faces(root, size), 1):
        names.append(name)
        images.append(img)
        if len(images) == batch_size:
            flush()
        if progress and count % 1000 == 0:
            print(f'{count} faces', flush=True)
    if images:
        flush()
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--vqgan', required=True, help='stage-I checkpoint (net_g_*.pth or an exported file)')
    parser.add_argument('--input', required=True, help='training faces: a folder or a basicsr .lmdb')
    parser.add_argument('-o', '--output', required=True, help='file to write, e.g. latent_gt_code1024.pth')
    parser.add_argument('--size', type=int, default=512, help='face size used in training (out_size)')
    parser.add_argument('--ch-mult', type=int, nargs='+', default=list(CH_MULT))
    parser.add_argument('--attn', type=int, nargs='+', default=None, help='attention resolutions (default: deepest)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    net = build_vqgan(args.vqgan, args.size, args.ch_mult, args.attn).to(device)
    table = generate(net, args.input, args.size, device, args.batch_size)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    torch.save(table, args.output)
    print(f"wrote codes of {len(table['orig'])} faces (and mirrors) to {args.output}")
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Whole-image pipeline: time per stage and per face, for small and large photos with 1, 10 and 30 faces.

    python benchmarks/bench_pipeline.py [--sizes 1000x750 4000x3000] [--faces 1 10 30] [--network full|small]
                                        [--upscale 2] [--no_parse]

Photos are composed from the public-domain astronaut portrait (its head pasted N times onto a smooth
background), encoded as JPEG, then decoded, detected (MTCNN: no download), aligned, restored, parsed,
pasted and encoded, as the CLI does. The released weights are not needed: CodeFormer and ParseNet run
with random weights, which cost the same time. ``--network small`` uses the 64 px test network to look
at the non-network stages alone. Targets printed beside the measurements: paste per face <= 0.2 s at
any size, and everything that is not a network <= 10 % of the wall time.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_network import conv_limit, conv_shapes  # noqa: E402
from codeformer.archs import CodeFormer  # noqa: E402
from codeformer.enhancer import FaceEnhancer  # noqa: E402
from codeformer.parsing import FaceParser, build_parsenet  # noqa: E402
from codeformer.restorer import FaceRestorer  # noqa: E402
from tests.support.nets import small_codeformer  # noqa: E402

NETWORK_STAGES = ('detect', 'restore', 'parse')


def compose_photo(width: int, height: int, faces: int, seed: int = 0) -> np.ndarray:
    from skimage import data
    rng = np.random.default_rng(seed)
    portrait = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    head = portrait[40:220, 130:330]  # 200 x 180 px around the face
    background = cv2.resize(rng.integers(60, 200, (6, 8, 3), dtype=np.uint8), (width, height),
                            interpolation=cv2.INTER_CUBIC)
    cols = int(np.ceil(np.sqrt(faces * width / height)))
    rows = int(np.ceil(faces / cols))
    cell_w, cell_h = width // cols, height // rows
    scale = min(1.0, 0.8 * cell_w / head.shape[1], 0.8 * cell_h / head.shape[0])
    scale = max(scale, 0.3)
    h = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    for i in range(faces):
        r, c = divmod(i, cols)
        y, x = r * cell_h + (cell_h - h.shape[0]) // 2, c * cell_w + (cell_w - h.shape[1]) // 2
        background[y:y + h.shape[0], x:x + h.shape[1]] = h
    return background


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', nargs='+', default=['1000x750', '4000x3000'])
    ap.add_argument('--faces', type=int, nargs='+', default=[1, 10, 30])
    ap.add_argument('--network', choices=['full', 'small'], default='full')
    ap.add_argument('--upscale', type=int, default=2)
    ap.add_argument('--batch_size', type=int, default=None, help='default: as the CLI chooses (1 on the CPU)')
    ap.add_argument('--no_parse', action='store_true')
    args = ap.parse_args()

    net = CodeFormer() if args.network == 'full' else small_codeformer()
    restorer = FaceRestorer('restoration', w=0.5, net=net, device='cpu', batch_size=args.batch_size)
    parser = None if args.no_parse else FaceParser(restorer.device, restorer.dtype, batch_size=restorer.batch_size,
                                                   net=build_parsenet())
    enhancer = FaceEnhancer(restorer, upscale=args.upscale, detection_model='mtcnn', use_parse=not args.no_parse,
                            parser=parser)
    print(f'network {args.network}, upscale {args.upscale}, parse {not args.no_parse}, batch {restorer.batch_size}, '
          f'threads {torch.get_num_threads()}, torch {torch.__version__}')
    # the networks' own limits per face: their convolutions timed alone on their shapes (bench_network.py)
    x = torch.rand(1, 3, restorer.size, restorer.size).contiguous(memory_format=torch.channels_last)
    limit = conv_limit(conv_shapes(restorer.net, x, 0.5), 1, restorer.device, 2)
    if parser is not None:
        x = torch.rand(1, 3, 512, 512).contiguous(memory_format=torch.channels_last)
        limit += conv_limit(conv_shapes(parser.net, x), 1, restorer.device, 2)
    print(f'network limit per face (CodeFormer{" + ParseNet" if parser else ""}): {limit:.2f} s; '
          f'the detector counts at its measured time')
    enhancer.enhance_batch([compose_photo(640, 480, 1)])  # warm-up: oneDNN builds its kernels on the first call
    stages = ('decode', 'detect', 'align', 'restore', 'parse', 'background', 'paste', 'encode')
    print(f'{"image":>10} {"faces":>5} ' + ' '.join(f'{s:>10}' for s in stages)
          + f' {"total":>8} {"s/face":>7} {"paste/face":>10} {"non-net":>8} {"vs limit":>8}')
    for size in args.sizes:
        width, height = (int(v) for v in size.split('x'))
        for n in args.faces:
            jpeg = cv2.imencode('.jpg', compose_photo(width, height, n), [cv2.IMWRITE_JPEG_QUALITY, 92])[1]
            t0 = time.perf_counter()
            img = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED)
            decode = time.perf_counter() - t0
            result = enhancer.enhance_batch([img])[0]
            t0 = time.perf_counter()
            cv2.imencode('.png', result.restored_img)
            secs = {'decode': decode, **result.seconds, 'encode': time.perf_counter() - t0}
            total = sum(secs.get(s, 0.0) for s in stages)
            found = len(result.faces)
            non_net = 1 - sum(secs.get(s, 0.0) for s in NETWORK_STAGES) / total
            print(f'{size:>10} {found:>5} ' + ' '.join(f'{secs.get(s, 0.0):>10.3f}' for s in stages)
                  + f' {total:>8.2f} {total / max(1, found):>7.2f} {secs["paste"] / max(1, found):>10.3f}'
                  + f' {non_net:>7.1%} {total / (found * limit + secs["detect"]):>7.2f}x')
    print('targets: paste/face <= 0.200 s at every size; non-network share (decode, align, background, paste, '
          'encode) <= 10.0 %; wall time <= 1.30x the networks\' limits')


if __name__ == '__main__':
    main()

"""Real-ESRGAN for the background and the faces: ours against realesrgan's ``RealESRGANer``, side by side.

    .venv/bin/python benchmarks/bench_background.py [--repeats 2] [--tile 400] [--weights RealESRGAN_x2plus.pth]

``RealESRGANer`` is the upsampler the official script builds (``set_realesrgan``: x2plus, tile ``--bg_tile`` 400,
tile_pad 40, pre_pad 0; CodeFormer carries a copy of realesrgan's class that computes the same). Both run the same
RRDBNet weights (the released file with ``--weights``, else the released layout with the golden rule's weights, which
cost the same time) on the same images, tiles and thread count, in turns within one run, so the ratio holds on a
noisy machine. Images: the astronaut at 225 x 225 (the photo of issue 26) and 512 x 512 (one tile and two by two), a
1000 x 750 group photo (three by two tiles) and a restored 512 x 512 face at x2 (what ``--face_upsample`` does to each
face). Printed per image: the best time of each (seconds), ours over theirs, and the PSNR and largest difference
between the two pictures.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import codeformer  # noqa: E402,F401  (torchvision shim first)
from benchmarks.bench_detectors import skimage_image  # noqa: E402
from benchmarks.bench_official import psnr  # noqa: E402
from benchmarks.bench_pipeline import compose_photo  # noqa: E402
from codeformer.background import RealESRGANUpsampler, build_rrdbnet_x2, tile_boxes  # noqa: E402


def images() -> dict[str, tuple[np.ndarray, int]]:
    """name -> (image, outscale)."""
    astro = skimage_image('astronaut')
    face = cv2.resize(astro[30:250, 110:330], (512, 512), interpolation=cv2.INTER_CUBIC)
    return {'astronaut 225x225, x2': (cv2.resize(astro, (225, 225), interpolation=cv2.INTER_AREA), 2),
            'astronaut 512x512, x2': (astro, 2),
            'group 1000x750, x2': (compose_photo(1000, 750, 3), 2),
            'face 512x512, x2 (--face_upsample)': (face, 2)}


def weights_file(given: str | None, folder: Path) -> Path:
    if given:
        return Path(given)
    from tests.support.golden import golden_weights
    path = folder / 'rrdb_golden.pth'
    torch.save({'params_ema': golden_weights(build_rrdbnet_x2())}, path)
    return path


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as info:
            return next(line.split(':', 1)[1].strip() for line in info if line.startswith('model name'))
    except (OSError, StopIteration):
        return platform.processor() or 'unknown CPU'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=2, help='runs of each per image; the best time counts')
    parser.add_argument('--tile', type=int, default=400, help='tile size (the official --bg_tile default: 400)')
    parser.add_argument('--weights', help='RealESRGAN_x2plus.pth (default: golden-rule weights of its layout)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    from realesrgan import RealESRGANer

    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        path = weights_file(args.weights, Path(tmp))
        half = device.type == 'cuda'  # as the official script: fp16 on a GPU
        theirs = RealESRGANer(scale=2, model_path=str(path), model=build_rrdbnet_x2(), tile=args.tile, tile_pad=40,
                              pre_pad=0, half=half, device=device)
        ours = RealESRGANUpsampler(device, half=half, tile=args.tile, model_path=path, progress=False)
    print(f'{cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}, device {device}, '
          f'tile {args.tile}, best of {args.repeats}')
    print('| image | tiles | RealESRGANer s | ours s | ours / theirs | PSNR dB | max diff |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    ratios = []
    for name, (img, outscale) in images().items():
        times = {'theirs': [], 'ours': []}
        for _ in range(args.repeats):  # in turns, so both meet the same load
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per tile
                a = theirs.enhance(img, outscale=outscale)[0]
            times['theirs'].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = ours.enhance(img, outscale=outscale)
            times['ours'].append(time.perf_counter() - t0)
        h, w = img.shape[:2]
        tiles = len(tile_boxes(h + h % 2, w + w % 2, args.tile, 40))
        t_theirs, t_ours = min(times['theirs']), min(times['ours'])
        ratios.append(t_ours / t_theirs)
        diff = int(np.abs(a.astype(int) - b).max())
        print(f'| {name} | {tiles} | {t_theirs:.2f} | {t_ours:.2f} | {t_ours / t_theirs:.2f} | {psnr(a, b):.1f} | '
              f'{diff} |')
    print(f'ours / theirs: {min(ratios):.2f}-{max(ratios):.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

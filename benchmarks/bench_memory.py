"""Peak memory of a whole-photo run against the size of its result: a 12 MP photo at upscale 2 and 4.

    python benchmarks/bench_memory.py [--model_path CKPT] [--scales 2 4]

Each run is the real command line in its own process (``-s N --no_parse --detection_model mtcnn``); its peak
resident memory comes from the kernel (``wait4``, through a small launcher so that the benchmark's own memory is
not counted). The fixed cost (Python, torch, the networks) is measured on a 512x512 photo at ``-s 1`` and
subtracted; what remains is divided by the result's size as 8-bit colour. Memory proportional to the result keeps
that ratio flat between scales; a pipeline that keeps several full-size float copies shows a ratio of 4 or more.
Without ``--model_path`` a full-size CodeFormer with random weights is used (memory does not depend on them).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tests.support.memory import run_measured  # noqa: E402

MP12 = (3000, 4000)  # height, width


def photo(height: int, width: int) -> np.ndarray:
    """The astronaut portrait enlarged to the photo's height, on a textured background of its width."""
    face = cv2.imread(str(ROOT / 'inputs' / 'whole_imgs' / 'astronaut.jpg'))
    face = cv2.resize(face, (height, height), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    img = cv2.resize(rng.integers(0, 255, (height // 16, width // 16, 3), dtype=np.uint8), (width, height))
    img[:, (width - height) // 2:(width - height) // 2 + height] = face
    return img


def measure(image: np.ndarray, scale: int, model: Path, tmp: Path) -> float:
    src = tmp / f'in_{image.shape[0]}_{scale}' / 'photo.png'
    src.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(src), image)
    proc, peak = run_measured('inference_codeformer.py', '-i', str(src), '-o', str(tmp / f'out_{scale}'), '-s',
                              str(scale), '--model_path', str(model), '--detection_model', 'mtcnn', '--no_parse',
                              '--device', 'cpu', '--max_pixels', str(250_000_000), '-q', timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f'run failed: {proc.stderr}')
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model_path', default=None)
    ap.add_argument('--scales', type=int, nargs='+', default=[2, 4])
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model = Path(args.model_path) if args.model_path else None
        if model is None:
            import torch

            from codeformer.archs import CodeFormer
            model = tmp / 'codeformer.pth'
            torch.save({'params_ema': CodeFormer().state_dict()}, model)
        base = measure(photo(512, 512), 1, model, tmp)
        print(f'fixed cost (512x512 photo, -s 1): {base:.0f} MiB')
        print('| photo | -s | result | result size (8-bit colour) | peak | peak - fixed | ratio to the result |')
        print('| --- | --- | --- | --- | --- | --- | --- |')
        image = photo(*MP12)
        for scale in args.scales:
            peak = measure(image, scale, model, tmp)
            h, w = MP12[0] * scale, MP12[1] * scale
            result_mb = h * w * 3 / 2**20
            print(f'| {MP12[1]}x{MP12[0]} | {scale} | {w}x{h} | {result_mb:.0f} MiB | {peak:.0f} MiB | '
                  f'{peak - base:.0f} MiB | {(peak - base) / result_mb:.2f} |', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())

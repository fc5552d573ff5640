"""One prepared check for a CUDA machine: speed, memory and precision parity of the networks, in one command.

    python benchmarks/gpu_check.py                 # on the GPU machine, from the source tree
    python benchmarks/gpu_check.py --device cpu --quick   # the same logic on a CPU, small network (the tests run this)

Prints the device and versions; faces per second for CodeFormer at batch 1, 8 and 32 in fp32, bf16-split and
fp16-split (codes chosen in float32, the decoder in half precision: 'auto' on a GPU), bf16 and fp16 (every
convolution in that dtype; transformer/logits/codebook in float32 always); peak GPU memory per precision; the
parity figures of ``bench_precision.py`` for each half precision (codes equal to fp32, output differences, final
photo PSNR); frames per second for whole photos and for 1080p frames with one face through ``FaceEnhancer``; whether
the stage-II smoke training finishes under ``torchrun --nproc_per_node=1 ... --launcher pytorch`` over NCCL (CUDA
only, and only where basicsr is installed). Exits with 1 when the default precision ('auto') fails parity (codes
< 99 % equal or final photo < 40 dB), else 0.

Runs where only torch, torchvision, numpy, opencv-python-headless, scipy and scikit-image are installed and there is
no network: our package is imported from the source tree (no install); the MTCNN detector's weight files come from the
facenet-pytorch wheel, installed from a carried folder without its dependencies
(``pip install --no-index --no-deps --find-links wheels/ facenet-pytorch``). Face parsing (facexlib) and video
(PyAV) are not needed: photos are pasted with the feathered square, and 1080p frames go through the same per-frame
call the video loop makes.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_precision import (  # noqa: E402
    TARGET_CODES,
    TARGET_PSNR,
    golden_network,
    measure,
    print_table,
    restorer_for,
)
from codeformer.runtime import precision_policy  # noqa: E402


def faces_per_second(base, precision: str, device: torch.device, batch: int, size: int, rounds: int) -> tuple[
        float, float]:
    """(faces/s, peak memory in GiB) for one precision and batch size."""
    net = restorer_for(base, precision, device, 0.5).net
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    with torch.inference_mode():
        net(x, w=0.5, adain=True)  # warm-up (cuDNN picks its algorithms)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(rounds):
            net(x, w=0.5, adain=True)
        if device.type == 'cuda':
            torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == 'cuda' else float('nan')
    return batch * rounds / seconds, peak


def frames_per_second(base, device: torch.device, frame_size: tuple[int, int], frames: int, quick: bool) -> float:
    """Whole photos of ``frame_size`` (width, height) with one face, restored and pasted back, per second."""
    import cv2

    from benchmarks.bench_detectors import skimage_image
    from codeformer.enhancer import FaceEnhancer
    width, height = frame_size
    photo = np.full((height, width, 3), 120, np.uint8)
    face = skimage_image('astronaut')
    side = min(height, 512)
    photo[:side, :side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    enhancer = FaceEnhancer(restorer_for(base, 'auto', device, 0.5), upscale=1 if quick else 2,
                            detection_model='mtcnn', use_parse=False, progress=False)
    faces = enhancer.detect(photo)
    enhancer.enhance_batch([photo], faces=[faces])  # warm-up
    t0 = time.perf_counter()
    for _ in range(frames):
        enhancer.enhance_batch([photo], faces=[faces])  # as the video loop calls it, detection shared
    return frames / (time.perf_counter() - t0)


def torchrun_training(timeout: float = 600) -> str:
    """Train the stage-II smoke configuration with ``torchrun --nproc_per_node=1 ... --launcher pytorch`` (NCCL,
    one GPU) on a few drawn faces, after the 2-iteration stage I and latent codes it needs: 'finished' or why not."""
    if importlib.util.find_spec('basicsr') is None:
        return 'skipped: basicsr is not installed'
    import cv2
    smoke = ROOT / 'options' / 'smoke'
    train = [str(ROOT / 'codeformer' / 'train.py'), '-opt']
    steps = {
        'stage I': [*train, str(smoke / 'vqgan_stage1.yml'), '--force_yml', 'num_gpu=1', 'train:total_iter=2'],
        'latent codes': [str(ROOT / 'scripts' / 'generate_latent_gt.py'), '--vqgan',
                         'experiments/smoke_vqgan/models/net_g_latest.pth', '--input', 'datasets/smoke_faces',
                         '--size', '64', '-o', 'experiments/smoke_vqgan/latent_gt_code32.pth'],
        'stage II': ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=1', *train,
                     str(smoke / 'codeformer_stage2.yml'), '--launcher', 'pytorch', '--force_yml', 'num_gpu=1',
                     'train:total_iter=4'],
    }
    with tempfile.TemporaryDirectory() as work:
        faces = Path(work, 'datasets', 'smoke_faces')
        faces.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for i in range(4):
            cv2.imwrite(str(faces / f'{i:05d}.png'), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
        env = {**os.environ, 'PYTHONPATH': str(ROOT)}
        for label, step in steps.items():
            try:
                proc = subprocess.run([sys.executable, *step], cwd=work, env=env, capture_output=True, text=True,
                                      timeout=timeout)
            except subprocess.TimeoutExpired:
                return f'FAILED (over {timeout:.0f} s in {label})'
            if proc.returncode != 0:
                return f'FAILED (exit {proc.returncode} in {label}):\n{proc.stderr[-2000:]}'
        ok = Path(work, 'experiments', 'smoke_codeformer_stage2', 'models', 'net_g_latest.pth').is_file()
    return 'finished' if ok else 'FAILED (no net_g_latest.pth)'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--quick', action='store_true', help='small network and sizes (to test this script)')
    parser.add_argument('--require-codes', type=float, default=TARGET_CODES)
    parser.add_argument('--require-psnr', type=float, default=TARGET_PSNR)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('error: no CUDA device here (use --device cpu --quick to test the script)', file=sys.stderr)
        return 2
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'
    print(f'device: {name}; torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN '
          f'{torch.backends.cudnn.version() if device.type == "cuda" else None}')
    base = golden_network(small=args.quick)
    size = int(base.resolution)
    precisions = (['fp32', 'bf16-split', 'fp16-split', 'bf16', 'fp16'] if device.type == 'cuda'
                  else ['fp32', 'bf16-split', 'bf16'])
    if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
        precisions = [p for p in precisions if not p.startswith('bf16')]
    batches = (1, 2) if args.quick else (1, 8, 32)
    print('\nCodeFormer faces/s (peak GiB):')
    print(f'{"precision":<12}' + ''.join(f'{f"batch {b}":>20}' for b in batches))
    for precision in precisions:
        cells = []
        for batch in batches:
            rate, peak = faces_per_second(base, precision, device, batch, size, rounds=1 if args.quick else 5)
            cells.append(f'{rate:9.2f} ({peak:5.2f})')
        print(f'{precision:<12}' + ''.join(f'{c:>20}' for c in cells))
    print('\nparity against fp32:')
    rows = measure(precisions, device, repeats=1 if args.quick else 5, small=args.quick)
    print_table(rows, device)
    for label, frame in (('whole photo 1024x768', (1024, 768)), ('1080p frame', (1920, 1080))):
        fps = frames_per_second(base, device, frame, frames=1 if args.quick else 20, quick=args.quick)
        print(f'{label}, one face: {fps:.2f} frames/s')
    if device.type == 'cuda':
        print(f'\nstage-II smoke training, torchrun 1 process over NCCL: {torchrun_training()}')
    else:
        print('\nstage-II smoke training with torchrun over NCCL: skipped on the CPU '
              '(tests/test_train_distributed.py trains with 2 processes over gloo)')
    default = precision_policy(device).name
    row = next(r for r in rows if r.precision == default)
    ok = row.codes_equal >= args.require_codes and row.photo_psnr >= args.require_psnr
    print(f'\ndefault precision here: {default}; parity {"passes" if ok else "FAILS"} (codes '
          f'{100 * row.codes_equal:.2f} % >= {100 * args.require_codes:.0f} %, photo {row.photo_psnr:.1f} dB >= '
          f'{args.require_psnr:.0f} dB)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

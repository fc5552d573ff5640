"""One prepared check for a CUDA machine: speed, memory and precision parity of the networks, in one command.

    python benchmarks/gpu_check.py                 # on the GPU machine, from the source tree
    python benchmarks/gpu_check.py --device cpu --quick   # the same logic on a CPU, small network (the tests run this)

Prints the device and versions, then: CodeFormer's faces/s and peak GPU memory at batch 1, 8 and 32 in every
precision policy (fp32; bf16-split and fp16-split: codes chosen in fp32, the decoder in half precision, 'auto' on a
GPU; bf16 and fp16: every convolution), the default compiled (``--compile``) at batch 32 with its compile time, and
the network as the official script runs it (fp32, batch 1, no_grad); the peak memory at batch 1; the parity figures of
``bench_precision.py`` against strict fp32 (TF32 off): codes equal, output differences, final photo PSNR; a 1080p clip
with one face through the whole video loop at -s 1 and -s 2, with the encoder alone on the same frames beside; 20
photos of 10 sizes (the slowest after the first against the median); whether the stage-II smoke training finishes
under ``torchrun --nproc_per_node=1 ... --launcher pytorch`` over NCCL (CUDA only, where basicsr is installed).

Exits with 1 when a gate is missed: the default policy's parity (codes >= 99.7 % of strict fp32, final photo
>= 40 dB) everywhere, and on CUDA also >= 250 faces/s, 1080p at -s 1 >= 60 frames/s (or within 1.2x of the encoder
alone), no photo after the first over 2x the median, <= 2 GiB at batch 1 (issue 27's gates for an H200).

Runs where only torch, torchvision, numpy, opencv-python-headless, scipy and scikit-image are installed and there is
no network: our package is imported from the source tree (no install); the MTCNN detector's weight files come from the
facenet-pytorch wheel, installed from a carried folder without its dependencies
(``pip install --no-index --no-deps --find-links wheels/ facenet-pytorch``); the video rows need PyAV's wheel the same
way (they say "skipped" without it). Face parsing (facexlib) is not needed: photos are pasted with the feathered
square.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_precision import (  # noqa: E402
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


def compiled_faces_per_second(base, precision: str, device: torch.device, batch: int, size: int,
                              rounds: int) -> tuple[float, float]:
    """(faces/s of the compiled network at ``batch``, seconds its first call took: the compile)."""
    import copy

    from codeformer.restorer import FaceRestorer
    restorer = FaceRestorer(net=copy.deepcopy(base), device=str(device), batch_size=batch, precision=precision,
                            compile=True)
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    w = torch.full((batch,), 0.5, device=device)
    with torch.inference_mode():
        t0 = time.perf_counter()
        restorer.compiled(x, w=w, adain=True)
        _synchronize(device)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(rounds):
            restorer.compiled(x, w=w, adain=True)
        _synchronize(device)
    return batch * rounds / (time.perf_counter() - t0), first


def official_way_faces_per_second(base, device: torch.device, size: int, rounds: int) -> float:
    """Faces/s as the official script runs the network: float32, batch 1, memory as PyTorch lays it out, no_grad."""
    import copy
    net = copy.deepcopy(base).eval().to(device)
    x = torch.rand(1, 3, size, size, device=device) * 2 - 1
    with torch.no_grad():
        net(x, w=0.5, adain=True)
        _synchronize(device)
        t0 = time.perf_counter()
        for _ in range(rounds):
            net(x, w=0.5, adain=True)
        _synchronize(device)
    return rounds / (time.perf_counter() - t0)


def _synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def video_loop(base, device: torch.device, upscale: int, frames: int,
               size: tuple[int, int]) -> tuple[float, float] | None:
    """A 1080p clip with one face through the whole video loop (decode, detect, restore, paste, encode), and the
    encoder alone on its output frames: (loop frames/s, encoder frames/s), None without PyAV."""
    if importlib.util.find_spec('av') is None:
        return None
    from fractions import Fraction

    from benchmarks.bench_frames import frames as clip_frames
    from codeformer.enhancer import FaceEnhancer
    from codeformer.video.io import Frame, VideoReader, VideoWriter
    from codeformer.video.loop import VideoOptions, restore_video
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / 'clip.mp4'
        writer = VideoWriter(clip, Fraction(25), Fraction(1, 25))
        for i, img in enumerate(clip_frames(frames, *size)):
            writer.write_frame(img, i, 1)
        writer.close()
        enhancer = FaceEnhancer(restorer_for(base, 'auto', device, 0.5), upscale=upscale, detection_model='mtcnn',
                                use_parse=False, progress=False)
        t0 = time.perf_counter()
        restore_video(clip, Path(tmp) / 'out.mp4', enhancer, VideoOptions(temporal=False), quiet=True)
        loop = frames / (time.perf_counter() - t0)
        reader = VideoReader(Path(tmp) / 'out.mp4')
        restored = [item.image for item in reader if isinstance(item, Frame)]
        reader.close()
        t0 = time.perf_counter()
        writer = VideoWriter(Path(tmp) / 'again.mp4', Fraction(25), Fraction(1, 25))
        for i, img in enumerate(restored):
            writer.write_frame(img, i, 1)
        writer.close()
        encoder = len(restored) / (time.perf_counter() - t0)
    return loop, encoder


def photo_sizes(base, device: torch.device, sizes: list[tuple[int, int]]) -> tuple[float, float, float]:
    """Two photos of each size, one after another, with one face each: (first photo's seconds, the median of the
    others, the slowest of the others)."""
    import cv2

    from benchmarks.bench_detectors import skimage_image
    from codeformer.enhancer import FaceEnhancer
    enhancer = FaceEnhancer(restorer_for(base, 'auto', device, 0.5), upscale=2, detection_model='mtcnn',
                            use_parse=False, progress=False)
    face = skimage_image('astronaut')
    times = []
    for width, height in sizes:
        for shade in (90, 160):
            photo = np.full((height, width, 3), shade, np.uint8)
            side = min(height, width, 512)
            photo[:side, :side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
            t0 = time.perf_counter()
            enhancer.enhance(photo)
            _synchronize(device)
            times.append(time.perf_counter() - t0)
    rest = times[1:]
    return times[0], float(np.median(rest)), max(rest)


@dataclass
class Gate:
    label: str
    passes: bool


@dataclass
class Figures:
    """What the gates judge: the default policy's parity against strict fp32 and the device's speed and memory."""
    codes: float  # share of strict fp32's codes
    psnr: float  # final photo against strict fp32, dB
    faces_per_second: float  # the best of eager and compiled
    video: tuple[float, float] | None  # 1080p at -s 1: (loop, encoder alone) frames/s
    slowest: float  # the slowest photo after the first, s
    median: float  # the median photo after the first, s
    peak_batch_1: float  # GiB


def judge(f: Figures, cuda: bool, require_codes: float = 0.997, require_psnr: float = TARGET_PSNR) -> list[Gate]:
    """The gates: parity everywhere; on CUDA also issue 27's speed and memory gates for an H200."""
    gates = [Gate(f'codes {100 * f.codes:.2f} % >= {100 * require_codes:g} %', f.codes >= require_codes),
             Gate(f'photo {f.psnr:.1f} dB >= {require_psnr:.0f} dB', f.psnr >= require_psnr)]
    if cuda:
        loop, encoder = f.video or (0.0, float('inf'))
        gates += [Gate(f'{f.faces_per_second:.0f} faces/s >= 250', f.faces_per_second >= 250),
                  Gate(f'1080p -s 1 {loop:.1f} frames/s >= 60 or within 1.2x of the encoder alone ({encoder:.1f})',
                       loop >= 60 or loop * 1.2 >= encoder),
                  Gate(f'slowest photo after the first {f.slowest / f.median:.2f}x the median <= 2',
                       f.slowest <= 2 * f.median),
                  Gate(f'peak at batch 1 {f.peak_batch_1:.2f} GiB <= 2', f.peak_batch_1 <= 2)]
    return gates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda')
    parser.add_argument('--quick', action='store_true', help='small network and sizes (to test this script)')
    parser.add_argument('--require-codes', type=float, default=0.997, help='share of strict fp32\'s codes')
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
    default = precision_policy(device).name
    precisions = (['fp32', 'bf16-split', 'fp16-split', 'bf16', 'fp16'] if device.type == 'cuda'
                  else ['fp32', 'bf16-split', 'bf16'])
    if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
        precisions = [p for p in precisions if not p.startswith('bf16')]
    batches = (1, 2) if args.quick else (1, 8, 32)
    rounds = 1 if args.quick else 5
    print('\nCodeFormer faces/s (peak GiB):')
    print(f'{"precision":<12}' + ''.join(f'{f"batch {b}":>20}' for b in batches))
    rates = {}
    for precision in precisions:
        cells = []
        for batch in batches:
            rate, peak = faces_per_second(base, precision, device, batch, size, rounds=rounds)
            rates[precision, batch] = rate, peak
            cells.append(f'{rate:9.2f} ({peak:5.2f})')
        print(f'{precision:<12}' + ''.join(f'{c:>20}' for c in cells))
    compiled, compile_s = compiled_faces_per_second(base, default, device, batches[-1], size, rounds)
    official = official_way_faces_per_second(base, device, size, rounds)
    print(f'{default}, compiled, batch {batches[-1]}: {compiled:.2f} faces/s (the first call, compiling: '
          f'{compile_s:.1f} s)')
    print(f'as the official script runs it (fp32, batch 1, no_grad): {official:.2f} faces/s')
    peak_1 = rates[default, 1][1]
    print(f'peak memory at batch 1 ({default}): {peak_1:.2f} GiB')
    print('\nparity against strict fp32:')
    rows = measure(precisions, device, repeats=rounds, small=args.quick)
    print_table(rows, device)
    frames = 3 if args.quick else 60
    loops = {}
    for s in (1, 2):
        loops[s] = video_loop(base, device, s, frames, (1920, 1080))
        shown = ('skipped: PyAV is not installed' if loops[s] is None
                 else f'{loops[s][0]:.2f} frames/s (encoder alone {loops[s][1]:.2f} frames/s)')
        print(f'1080p video through the whole loop, one face, -s {s}: {shown}')
    sizes = ([(200 + 40 * i, 150 + 30 * i) for i in range(10)] if args.quick
             else [(640 + 320 * i, 480 + 180 * i) for i in range(10)])
    first, median, slowest = photo_sizes(base, device, sizes)
    print(f'20 photos of 10 sizes: first {first:.2f} s, median of the rest {median:.2f} s, slowest of the rest '
          f'{slowest:.2f} s ({slowest / median:.2f}x the median)')
    if device.type == 'cuda':
        print(f'\nstage-II smoke training, torchrun 1 process over NCCL: {torchrun_training()}')
    else:
        print('\nstage-II smoke training with torchrun over NCCL: skipped on the CPU '
              '(tests/test_train_distributed.py trains with 2 processes over gloo)')
    row = next(r for r in rows if r.precision == default)
    best = max(compiled, *(rates[default, b][0] for b in batches))
    gates = judge(Figures(row.codes_equal, row.photo_psnr, best, loops[1], slowest, median, peak_1),
                  device.type == 'cuda', args.require_codes, args.require_psnr)
    ok = all(g.passes for g in gates)
    print(f'\ndefault precision here: {default}; parity {"passes" if all(g.passes for g in gates[:2]) else "FAILS"} '
          f'({gates[0].label}, {gates[1].label})')
    for gate in gates[2:]:
        print(f'{"passes" if gate.passes else "FAILS"}: {gate.label}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

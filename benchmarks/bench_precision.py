"""Precision parity: what running the networks in bfloat16 / float16 changes against float32, and what it saves.

    .venv/bin/python benchmarks/bench_precision.py [--device cpu] [--precisions fp32 bf16-split ...] [--repeats 3]

CodeFormer with the golden weights (tests/support/golden.py: the rule that regenerates the weights the official
network was recorded with) on the golden face and on faces cropped from real photos (scikit-image's astronaut,
matplotlib's Grace Hopper; MTCNN, no download). For each precision, against strict float32 (TF32 off on a GPU): the
share of the 256 code positions that pick the same code, the largest and mean output difference (outputs in
[-1, 1]), the PSNR of the final photo (whole pipeline, upscale 2, paste with the feathered square: ParseNet's weights
cannot be had here), and the time per face, with its ratio to float32 measured in the same run.

Precisions (``codeformer.runtime.precision_policy``): bf16-split and fp16-split choose the codes in float32 (encoder,
transformer, logits, codebook) and decode in half precision ('auto' on CUDA and on CPUs with native bf16); bf16 and
fp16 run every convolution in that dtype (the transformer, logits and codebook in float32); ``bf16-all`` puts the
whole network in bfloat16, for comparison. Targets printed beside the figures: codes >= 99 % equal, final photo
>= 40 dB, CPU bf16 time <= 0.55x float32.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import codeformer  # noqa: E402,F401  (compatibility shims first)
from codeformer.archs import CodeFormer  # noqa: E402

TARGET_CODES, TARGET_PSNR, TARGET_CPU_BF16 = 0.99, 40.0, 0.55


@dataclass
class Parity:
    precision: str
    codes_equal: float
    max_diff: float
    mean_diff: float
    photo_psnr: float
    seconds_per_face: float
    ratio: float

    def passes(self) -> bool:
        return self.codes_equal >= TARGET_CODES and self.photo_psnr >= TARGET_PSNR


def golden_network(small: bool = False) -> CodeFormer:
    """The golden weights on the released layout; ``small``: a seeded 64 px network (quick runs)."""
    if small:
        from tests.support.nets import small_codeformer
        return small_codeformer()
    from tests.support.golden import golden_weights
    net = CodeFormer().eval()
    net.load_state_dict(golden_weights(net))
    return net


def build(net: CodeFormer, precision: str, device: torch.device) -> CodeFormer:
    return restorer_for(net, precision, device, 0.5).net


def real_photos() -> list[np.ndarray]:
    from benchmarks.bench_detectors import grace_hopper, skimage_image
    return [skimage_image('astronaut'), grace_hopper()]


def faces_of(photos: list[np.ndarray], size: int) -> list[np.ndarray]:
    """Aligned crops of the photos' faces (MTCNN), resized to the network's size."""
    import cv2

    from codeformer.alignment import crop_face, similarity_transform
    from codeformer.detection import build_detector
    detector = build_detector('mtcnn')
    crops = []
    for photo in photos:
        for face in detector.detect(photo):
            crop = crop_face(photo, similarity_transform(face.landmarks, 512), 512)
            crops.append(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA) if size != 512 else crop)
    return crops


def batch_of(faces: list[np.ndarray], golden: bool) -> torch.Tensor:
    from codeformer.restorer import faces_to_tensor
    x = faces_to_tensor(faces, faces[0].shape[0]) if faces else None
    if golden:
        from tests.support.golden import golden_input
        x = golden_input() if x is None else torch.cat([golden_input(), x])
    return x.contiguous()


def run(net: CodeFormer, x: torch.Tensor, w: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    outs, codes = [], []
    with torch.inference_mode():
        for i in range(x.shape[0]):
            out, logits, _ = net(x[i:i + 1].to(device), w=w, adain=True)
            outs.append(out.float().cpu())
            codes.append(logits.argmax(2).cpu())
    return torch.cat(outs), torch.cat(codes)


def time_per_face(net: CodeFormer, x: torch.Tensor, w: float, device: torch.device, repeats: int) -> float:
    one = x[:1].to(device)
    times = []
    with torch.inference_mode():
        net(one, w=w, adain=True)  # warm-up
        for _ in range(repeats):
            if device.type == 'cuda':
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            net(one, w=w, adain=True)
            if device.type == 'cuda':
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def restorer_for(base: CodeFormer, precision: str, device: torch.device, w: float):
    """A ``FaceRestorer`` running a copy of ``base`` in ``precision``."""
    import copy

    from codeformer.restorer import FaceRestorer
    policy = 'bf16' if precision == 'bf16-all' else precision
    restorer = FaceRestorer(net=copy.deepcopy(base), device=str(device), w=w, batch_size=1, precision=policy)
    if precision == 'bf16-all':
        restorer.net.to(torch.bfloat16)
    return restorer


def photo_psnr(base: CodeFormer, precision: str, photos: list[np.ndarray], w: float, device: torch.device) -> float:
    """PSNR of the final photos (whole pipeline, upscale 2) in ``precision`` against those in float32."""
    from codeformer.enhancer import FaceEnhancer

    def finals(p: str) -> list[np.ndarray]:
        enhancer = FaceEnhancer(restorer_for(base, p, device, w), upscale=2, detection_model='mtcnn',
                                use_parse=False, progress=False)
        return [enhancer.enhance(photo)[2] for photo in photos]

    with strict_fp32():
        reference = finals('fp32')
    errors = [np.mean((a.astype(np.float64) - b) ** 2) for a, b in zip(reference, finals(precision))]
    mse = float(np.mean(errors))
    return float('inf') if mse == 0 else 10 * np.log10(255.0**2 / mse)


@contextmanager
def strict_fp32():
    """float32 as float32 on CUDA too: TF32 off for convolutions and matrix products while it lasts."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def measure(precisions: list[str], device: torch.device, repeats: int = 3, w: float = 0.5,
            small: bool = False) -> list[Parity]:
    base = golden_network(small)
    size = int(base.resolution)
    photos = real_photos()
    x = batch_of(faces_of(photos, size), golden=not small)
    reference = build(base, 'fp32', device)
    with strict_fp32():  # the reference: no TF32 on a GPU (PyTorch's default there is TF32 convolutions)
        ref_out, ref_codes = run(reference, x, w, device)
    ref_time = time_per_face(reference, x, w, device, repeats)
    rows = []
    for precision in precisions:
        net = reference if precision == 'fp32' else build(base, precision, device)
        out, codes = run(net, x, w, device)
        diff = (out - ref_out).abs()
        seconds = ref_time if precision == 'fp32' else time_per_face(net, x, w, device, repeats)
        psnr = float('inf') if precision == 'fp32' else photo_psnr(base, precision, photos, w, device)
        rows.append(Parity(precision, float((codes == ref_codes).float().mean()), float(diff.max()),
                           float(diff.mean()), psnr, seconds, seconds / ref_time))
    return rows


def print_table(rows: list[Parity], device: torch.device) -> None:
    print(f'{"precision":<12}{"codes equal":>13}{"max |d|":>10}{"mean |d|":>10}{"photo PSNR":>12}{"s/face":>9}'
          f'{"vs fp32":>9}')
    for r in rows:
        print(f'{r.precision:<12}{100 * r.codes_equal:>12.2f}%{r.max_diff:>10.3f}{r.mean_diff:>10.4f}'
              f'{r.photo_psnr:>10.1f}dB{r.seconds_per_face:>9.2f}{r.ratio:>8.2f}x')
    print(f'targets: codes >= {100 * TARGET_CODES:.0f} %, photo >= {TARGET_PSNR:.0f} dB'
          + (f', CPU bf16 <= {TARGET_CPU_BF16}x fp32' if device.type == 'cpu' else ''))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--precisions', nargs='+', default=['fp32', 'bf16-split', 'bf16', 'bf16-all'])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from codeformer.runtime import cpu_has_native_bf16
    device = torch.device(args.device)
    print(f'device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, CPU capability '
          f'{torch.backends.cpu.get_cpu_capability()}, native bf16 {cpu_has_native_bf16()}')
    print_table(measure(args.precisions, device, args.repeats), device)
    return 0


if __name__ == '__main__':
    sys.exit(main())

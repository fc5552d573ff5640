"""Everything a 1080p video frame costs but the network: decoding, detection, the frame work, encoding, each apart.

    .venv/bin/python benchmarks/bench_frames.py [--frames 12] [--upscale 1 2] [--size 1920x1080]

A clip of ``--frames`` frames (a gradient with the astronaut's head, about 300 px, gliding across it) is written with
H.264 and decoded back (``codeformer.video.io``). The restorer is a stand-in whose cost is near zero (it hands each
aligned crop back as its "restored" face), and faces are pasted with the feathered square (ParseNet is a network), so
that "frame work" is what ``FaceEnhancer.enhance_batch`` does to a whole frame around the networks: the gray tests,
alignment, the output canvas (the frame enlarged by ``-s``), the paste-back and the channel work. It is timed twice in
one run: as the code runs now, and with the gray tests computed as the official computes them (NumPy, over the whole
frame, in float64), which is what every frame paid before. Encoding alone (``VideoWriter``, crf 18, preset medium, as
the video loop writes) of the same output frames is printed beside: the whole write and flush over the frames (x264
buffers frames, so one call's time says little).

Targets (issue 27): the frame work at most half of encoding the same frame, and at most a fifth of what it took with
the official's gray tests.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import codeformer  # noqa: E402,F401  (compatibility shims first)
from benchmarks.bench_background import cpu_name  # noqa: E402
from benchmarks.bench_detectors import skimage_image  # noqa: E402
from tests.support.reference import numpy_is_gray, official_looks_gray  # noqa: E402


class Passthrough:
    """A restorer at no cost: the crop comes back as its restored face."""
    device, batch_size, size = 'cpu', 1, 512

    def __init__(self) -> None:
        import torch
        self.device = torch.device('cpu')

    def restore_faces(self, crops: list[np.ndarray], w: object = None, **_) -> list[np.ndarray]:
        return list(crops)  # the enhancer never writes into the faces it is given


def frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """A colour gradient with the astronaut's head (about 300 px) gliding from left to right."""
    head = cv2.resize(skimage_image('astronaut')[20:260, 100:340], (300, 300), interpolation=cv2.INTER_AREA)
    y, x = np.mgrid[:height, :width]
    base = np.dstack([(x * 255 // width), (y * 255 // height), np.full_like(x, 128)]).astype(np.uint8)
    out = []
    for i in range(count):
        img = base.copy()
        left = 200 + i * (width - 700) // max(1, count - 1)
        img[300:600, left:left + 300] = head
        out.append(img)
    return out


@contextmanager
def numpy_gray_tests():
    """The enhancer with the gray tests of before (NumPy over the whole frame)."""
    import codeformer.enhancer as enhancer
    saved = enhancer.looks_gray, enhancer.is_gray, enhancer.channel_stats
    enhancer.looks_gray = lambda img, threshold=10.0, stats=None: official_looks_gray(img, threshold)
    enhancer.is_gray = lambda img, tolerance=2.0, stats=None: numpy_is_gray(img, tolerance)
    enhancer.channel_stats = lambda img: None
    try:
        yield
    finally:
        enhancer.looks_gray, enhancer.is_gray, enhancer.channel_stats = saved


def per_frame(work, items) -> float:
    """Median seconds of ``work(item)`` over the items."""
    times = []
    for item in items:
        t0 = time.perf_counter()
        work(item)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=12)
    parser.add_argument('--upscale', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--size', default='1920x1080')
    args = parser.parse_args(argv)
    import torch

    from codeformer.detection import build_detector
    from codeformer.enhancer import FaceEnhancer
    from codeformer.video.io import Frame, VideoReader, VideoWriter
    width, height = (int(v) for v in args.size.split('x'))
    clip = frames(args.frames, width, height)
    print(f'{cpu_name()}, {torch.get_num_threads()} threads; {args.frames} frames of {width}x{height}, one face; '
          'ms per frame (medians; encoding: the mean)')
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'clip.mp4'
        writer = VideoWriter(path, Fraction(25), Fraction(1, 25))
        for i, img in enumerate(clip):
            writer.write_frame(img, i, 1)
        writer.close()
        reader = VideoReader(path)
        decoded, times, t0 = [], [], time.perf_counter()
        for item in reader:
            if isinstance(item, Frame):
                times.append(time.perf_counter() - t0)
                decoded.append(item.image)
            t0 = time.perf_counter()
        reader.close()
        decode = statistics.median(times)
    detector = build_detector('mtcnn')
    detect = per_frame(detector.detect, decoded)
    faces = [detector.detect(img) for img in decoded]
    print(f'decode {1000 * decode:.1f}, detect (MTCNN) {1000 * detect:.1f}; faces found {sum(map(len, faces))}')
    print('| -s | frame work, official gray tests | frame work, now | now / before | encode alone | '
          'frame work / encode |')
    print('| --- | --- | --- | --- | --- | --- |')
    for s in args.upscale:
        enhancer = FaceEnhancer(Passthrough(), upscale=s, detection_model=detector, use_parse=False, progress=False)
        pairs = list(zip(decoded, faces))

        def work(pair, enhancer=enhancer):
            return enhancer.enhance_batch([pair[0]], faces=[pair[1]])[0].restored_img

        with numpy_gray_tests():
            before = per_frame(work, pairs)
        now = per_frame(work, pairs)
        outputs = [work(pair) for pair in pairs]
        with tempfile.TemporaryDirectory() as tmp:
            writer = VideoWriter(Path(tmp) / 'out.mp4', Fraction(25), Fraction(1, 25))
            writer.write_frame(outputs[0], 0, 1)  # the encoder opened: not counted
            t0 = time.perf_counter()  # x264 buffers frames: the time per frame is the whole write and flush over them
            for i, img in enumerate(outputs):
                writer.write_frame(img, i + 1, 1)
            writer.close()
            encode = (time.perf_counter() - t0) / len(outputs)
        print(f'| {s} | {1000 * before:.1f} | {1000 * now:.1f} | {now / before:.2f} | {1000 * encode:.1f} | '
              f'{now / encode:.2f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Everything a 1080p video frame costs but the network: decoding, detection, the frame work, encoding, each apart.

    .venv/bin/python benchmarks/bench_frames.py [--frames 12] [--upscale 1 2] [--size 1920x1080] [--before REV]
                                                [--rounds 2]

A clip of ``--frames`` frames (a gradient with the astronaut's head, about 300 px, gliding across it) is written with
H.264 and decoded back (``codeformer.video.io``). The restorer is a stand-in whose cost is near zero (it hands each
aligned crop back as its "restored" face), and faces are pasted with the feathered square (ParseNet is a network), so
that "frame work" is what ``FaceEnhancer.enhance_batch`` does to a whole frame around the networks: the gray tests,
alignment, the output canvas (the frame enlarged by ``-s``), the paste-back and the channel work. It is timed on the
same decoded frames with the package as it is and with the package of ``--before`` (default 8d97b32, where issue 27
was filed; taken from git into a temporary folder and run in a child process), in turns for ``--rounds`` rounds, the
least median of each kept. Encoding alone (``VideoWriter``, crf 18, preset medium, as the video loop writes) of the
same output frames is printed beside: the whole write and flush over the frames (x264 buffers frames, so one call's
time says little).

Targets (issue 27): the frame work at most half of encoding the same frame, and at most a fifth of what it took at
``--before``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BEFORE = '8d97b32'
if __name__ == '__main__' and sys.argv[1:2] == ['--time-tree']:
    sys.path.insert(0, sys.argv[2])  # the package of before: imported instead of this one
sys.path.insert(1, str(ROOT))

import codeformer  # noqa: E402,F401  (compatibility shims first)
from benchmarks.revisions import export  # noqa: E402


class Passthrough:
    """A restorer at no cost: the crop comes back as its restored face."""
    device, batch_size, size = 'cpu', 1, 512

    def __init__(self) -> None:
        import torch
        self.device = torch.device('cpu')

    def restore_faces(self, crops: list[np.ndarray], w: object = None, **_) -> list[np.ndarray]:
        return list(crops)  # the enhancer never writes into the faces it is given


def frames(count: int, width: int, height: int) -> list[np.ndarray]:
    """A colour gradient with the astronaut's head (300 px at 1080 lines, in proportion at others) gliding from left
    to right."""
    from benchmarks.bench_detectors import skimage_image
    side = 300 * height // 1080
    head = cv2.resize(skimage_image('astronaut')[20:260, 100:340], (side, side), interpolation=cv2.INTER_AREA)
    y, x = np.mgrid[:height, :width]
    base = np.dstack([(x * 255 // width), (y * 255 // height), np.full_like(x, 128)]).astype(np.uint8)
    out = []
    for i in range(count):
        img = base.copy()
        left = (200 + i * (1920 - 700) // max(1, count - 1)) * width // 1920
        img[side:2 * side, left:left + side] = head
        out.append(img)
    return out


def per_frame(work, items) -> float:
    """Median seconds of ``work(item)`` over the items."""
    times = []
    for item in items:
        t0 = time.perf_counter()
        work(item)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def frame_work(clip: list[np.ndarray], upscales: list[int]) -> dict[int, tuple[float, list[np.ndarray]]]:
    """-s -> (median seconds of the frame work, the output frames), with the package imported here."""
    from codeformer.detection import build_detector
    from codeformer.enhancer import FaceEnhancer
    detector = build_detector('mtcnn')
    faces = [detector.detect(img) for img in clip]
    out = {}
    for s in upscales:
        enhancer = FaceEnhancer(Passthrough(), upscale=s, detection_model=detector, use_parse=False, progress=False)
        pairs = list(zip(clip, faces))

        def work(pair, enhancer=enhancer):
            return enhancer.enhance_batch([pair[0]], faces=[pair[1]])[0].restored_img

        work(pairs[0])  # first call: lazy set-up, not counted
        out[s] = (per_frame(work, pairs), [work(pair) for pair in pairs])
    return out


def time_before(rev: str, clip: list[np.ndarray], upscales: list[int]) -> dict[int, float] | str:
    """-s -> median seconds of the frame work of the package at ``rev``, or why it could not be timed."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / 'tree'
        why_not = export(rev, tree, 'codeformer')
        if why_not:
            return f'not timed: {why_not}'
        np.save(Path(tmp) / 'clip.npy', np.stack(clip))
        child = subprocess.run([sys.executable, __file__, '--time-tree', str(tree), str(Path(tmp) / 'clip.npy'),
                                *map(str, upscales)], capture_output=True, text=True)
        if child.returncode:
            return f'not timed: the package at {rev} failed ({child.stderr.strip().splitlines()[-1][:120]})'
        return {int(k): v for k, v in json.loads(child.stdout.strip().splitlines()[-1]).items()}


def decode(path: Path) -> tuple[list[np.ndarray], float]:
    """The clip's frames and the median seconds to decode one."""
    from codeformer.video.io import Frame, VideoReader
    reader = VideoReader(path)
    decoded, times, t0 = [], [], time.perf_counter()
    for item in reader:
        if isinstance(item, Frame):
            times.append(time.perf_counter() - t0)
            decoded.append(item.image)
        t0 = time.perf_counter()
    reader.close()
    return decoded, statistics.median(times)


def encode_seconds(outputs: list[np.ndarray]) -> float:
    """Mean seconds per frame of writing and flushing the frames as the video loop writes them."""
    from codeformer.video.io import VideoWriter
    with tempfile.TemporaryDirectory() as tmp:
        writer = VideoWriter(Path(tmp) / 'out.mp4', Fraction(25), Fraction(1, 25))
        writer.write_frame(outputs[0], 0, 1)  # the encoder opened: not counted
        t0 = time.perf_counter()  # x264 buffers frames: the time per frame is the whole write and flush over them
        for i, img in enumerate(outputs):
            writer.write_frame(img, i + 1, 1)
        writer.close()
        return (time.perf_counter() - t0) / len(outputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=12)
    parser.add_argument('--upscale', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--size', default='1920x1080')
    parser.add_argument('--before', default=BEFORE, help='the git revision to time beside (default: %(default)s)')
    parser.add_argument('--rounds', type=int, default=2, help='rounds of before and now, in turns')
    args = parser.parse_args(argv)
    import torch

    from benchmarks.bench_background import cpu_name
    from codeformer.detection import build_detector
    from codeformer.video.io import VideoWriter
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
        decoded, decode_s = decode(path)
    detect = per_frame(build_detector('mtcnn').detect, decoded)
    print(f'decode {1000 * decode_s:.1f}, detect (MTCNN) {1000 * detect:.1f}')
    before: dict[int, float] = {}
    now: dict[int, tuple[float, list[np.ndarray]]] = {}
    for _ in range(args.rounds):  # in turns, the least median of each kept: this machine is shared
        timed = time_before(args.before, decoded, args.upscale)
        if isinstance(timed, str):
            print(f'{args.before}: {timed}')
        else:
            before = {s: min(v, before.get(s, v)) for s, v in timed.items()}
        now = {s: min(v, now.get(s, v), key=lambda pair: pair[0]) for s, v in frame_work(decoded, args.upscale).items()}
    print(f'| -s | frame work at {args.before} | frame work, now | now / before (target <= 0.2) | encode alone | '
          'frame work / encode (target <= 0.5) |')
    print('| --- | --- | --- | --- | --- | --- |')
    missed = 0
    for s in args.upscale:
        seconds, outputs = now[s]
        encode = encode_seconds(outputs)
        old = before.get(s)
        ratio = f'{seconds / old:.2f}' if old else 'n/a'
        missed += (old is not None and seconds / old > 0.2) + (seconds / encode > 0.5)
        print(f'| {s} | {1000 * old:.1f} | ' if old else f'| {s} | n/a | ', end='')
        print(f'{1000 * seconds:.1f} | {ratio} | {1000 * encode:.1f} | {seconds / encode:.2f} |')
    print(f'targets missed: {missed}')
    return 1 if missed else 0


def child(tree: str, clip_path: str, upscales: list[str]) -> int:
    """Run by ``time_before`` with the package of before on the path: prints {-s: median seconds} as JSON."""
    assert Path(codeformer.__file__).is_relative_to(tree), codeformer.__file__
    clip = list(np.load(clip_path))
    print(json.dumps({s: secs for s, (secs, _) in frame_work(clip, [int(v) for v in upscales]).items()}))
    return 0


if __name__ == '__main__':
    sys.exit(child(sys.argv[2], sys.argv[3], sys.argv[4:]) if sys.argv[1:2] == ['--time-tree'] else main())

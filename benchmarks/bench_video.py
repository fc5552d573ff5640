"""Frames per second and peak memory of video restoration, for clips of increasing length.

    python benchmarks/bench_video.py [--frames 30 100 300] [--size 256] [--model_path CKPT] [--detection_model mtcnn]

Each clip (a face gliding across the astronaut photo, with an AAC tone) is restored by the real command line in its
own process; its peak resident memory comes from the kernel (``wait4``), frames per second from the run's report
(decoding, detection, restoration, paste-back and encoding, start-up excluded). Streaming means peak memory does
not depend on the length: the longest clip's should be within a few percent of the shortest's, while keeping every
frame in memory (as the official script does) would add the "all frames" column. Without ``--model_path`` a small
network with the released layout is used (the released weights are not needed to measure the pipeline).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402


def write_clip(path: Path, frames: int, size: int, fps: int = 25, sample_rate: int = 44100) -> Path:
    """A face moving smoothly across the frame, with a 440 Hz tone as AAC."""
    scene = cv2.resize(cv2.imread(str(ROOT / 'inputs' / 'whole_imgs' / 'astronaut.jpg')), (2 * size, 2 * size),
                       interpolation=cv2.INTER_AREA)
    with av.open(str(path), 'w') as out:
        v = out.add_stream('libx264', rate=fps, options={'crf': '18'})
        v.width = v.height = size
        v.pix_fmt = 'yuv420p'
        a = out.add_stream('aac', rate=sample_rate, layout='stereo')
        sent = 0
        for i in range(frames):
            t = (i % 100) / 99  # glide back and forth every 100 frames
            t = t if (i // 100) % 2 == 0 else 1 - t
            x, y = round(size * (0.25 + 0.3 * t)), round(size * (0.08 + 0.08 * np.sin(np.pi * t)))
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(scene[y:y + size, x:x + size]), format='bgr24')
            frame.pts = i
            for p in v.encode(frame):
                out.mux(p)
            upto = sample_rate * (i + 1) // fps
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(sent, upto) / sample_rate)).astype(np.float32)
            af = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format='fltp', layout='stereo')
            af.sample_rate, af.pts, af.time_base = sample_rate, sent, Fraction(1, sample_rate)
            sent = upto
            for p in a.encode(af):
                out.mux(p)
        for stream in (a, v):
            for p in stream.encode(None):
                out.mux(p)
    return path


def run(clip: Path, out: Path, args) -> dict:
    """The command line on one clip in a child process: its report, wall time and peak memory."""
    report = out / f'{clip.stem}.json'
    cmd = [sys.executable, str(ROOT / 'inference_codeformer.py'), '-i', str(clip), '-o', str(out), '-q',
           '--model_path', str(args.model_path), '--detection_model', args.detection_model, '--device', args.device,
           '-s', str(args.upscale), '--report', str(report), '--temporal', args.temporal,
           *([] if args.parse else ['--no_parse'])]
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors='replace')
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f'{clip.name}: the run failed:\n{err}')
    info = json.loads(report.read_text())[0]['info']
    return {'frames': info['frames_written'], 'fps': info['fps'], 'seconds': info['seconds'], 'wall': wall,
            'peak_mb': usage.ru_maxrss / 1024}  # ru_maxrss is in KiB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--frames', type=int, nargs='+', default=[30, 100, 300], help='clip lengths (frames)')
    parser.add_argument('--size', type=int, default=256, help='frame width and height (default: 256)')
    parser.add_argument('--upscale', type=int, default=2)
    parser.add_argument('--model_path', default=None, help='checkpoint (default: a small generated network)')
    parser.add_argument('--detection_model', default='mtcnn')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--parse', action='store_true', help='paste with ParseNet masks (needs its weights)')
    parser.add_argument('--temporal', choices=('on', 'off'), default='on', help="the video loop's temporal mode")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='bench_video_') as tmp:
        tmp = Path(tmp)
        if args.model_path is None:
            from tests.support.nets import save_checkpoint, small_codeformer
            args.model_path = save_checkpoint(small_codeformer(), tmp / 'small.pth')
        rows = []
        for n in sorted(args.frames):
            clip = write_clip(tmp / f'clip_{n}.mp4', n, args.size)
            rows.append(run(clip, tmp / 'out', args))
        out_px = (args.size * args.upscale) ** 2 * 3
        print(f'{args.size}x{args.size} frames, upscale {args.upscale}, detector {args.detection_model}, '
              f'--temporal {args.temporal}, '
              f'torch threads {os.environ.get("OMP_NUM_THREADS", "default")}, {os.cpu_count()} CPUs')
        print(f'{"frames":>7} {"seconds":>8} {"fps":>7} {"peak MB":>8} {"vs first":>9} {"all frames MB":>14}')
        base = rows[0]['peak_mb']
        for r in rows:
            held = r['frames'] * (args.size ** 2 * 3 + out_px) / 2**20  # input and output frames kept, as before
            print(f'{r["frames"]:>7} {r["seconds"]:>8.1f} {r["fps"]:>7.2f} {r["peak_mb"]:>8.1f} '
                  f'{100 * (r["peak_mb"] / base - 1):>+8.1f}% {held:>14.0f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

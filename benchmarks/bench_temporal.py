"""Codes that hold still: the video loop's temporal mode (``--temporal``) against per-frame restoration.

    python benchmarks/bench_temporal.py [--frames 8] [--small] [--tune] [--noise 8] [--crf 23]

Clips are made from scikit-image's astronaut portrait (NASA, public domain), each frame with Gaussian noise of its own
(sigma 8) and the whole clip through H.264 (crf 23), as a phone or a streaming site leaves a video. The noise is
strong enough to survive the encoder: at sigma 4 and crf 28 consecutive frames differ by about 0.01 gray levels, and
the warping error's denominator (the input's own change) all but vanishes.

  * still: the portrait, unmoving;
  * moving: the portrait gliding 3 px a frame and turning slightly (squeezed sideways, 1 % a frame);
  * two faces: the portrait and its mirror image side by side, still;
  * cut: the still portrait, then a shot of it mirrored, closer and in other colours.

Faces are found and tracked as the video loop does (MTCNN, ``FaceTracker``) and restored by ``FaceEnhancer`` with the
temporal mode off and on. Printed per clip and mode:

  * flips: the share of code positions whose code changes between consecutive frames (per track);
  * warp err: the error between consecutive restored crops after warping one onto the other with optical flow
    (Farneback) computed on the input crops, pixels failing a forward-backward check left out, divided by the same
    figure for the input crops (1: the result flickers as much as the input; the crops are aligned, so the flow is
    small);
  * warp err, motion only: the same figure for an output without any flicker of its own: the first per-frame
    result, then each frame the previous one moved by the flow measured on the input crops (no new content). It is
    what resampling this network's texture along the measured motion costs: no output of the network can score
    lower, whatever keeps it steady (the golden weights draw high-contrast texture at the pixel scale, where
    bilinear resampling by a fraction of a pixel changes much);
  * lag (moving clip): the time shift, in frames, that best matches the temporal results to the per-frame ones
    (which follow the input with no lag, each frame being restored on its own), from thumbnails interpolated in time;
  * s/frame: wall time per frame, and the share of it spent in the temporal bookkeeping (measured on its own, as the
    wall time on a shared machine moves by more than it);
  * cut: whether the first frame after the cut got exactly the per-frame result.

The network has the golden weights (``tests/support/golden.py``: the released layout with weights drawn from each
parameter's name), whose codes are close by design, so per-frame flips are frequent; ``--small`` uses the small
test network instead (a quick check of the script). ``--tune`` prints the flip rate over a grid of the constants,
from the per-frame run's logits (no more network calls).
"""
from __future__ import annotations

import argparse
import io
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from codeformer.enhancer import FaceEnhancer  # noqa: E402
from codeformer.restorer import FaceRestorer  # noqa: E402
from codeformer.video.temporal import (  # noqa: E402
    TemporalSettings,
    TemporalStates,
    crop_signature,
    frame_signature,
    pick_codes,
)
from codeformer.video.tracking import FaceTracker, radius_for  # noqa: E402
from tests.support.clips import encode_frames  # noqa: E402

NOISE, CRF = 8.0, 23  # per-frame noise that survives the encoder (see above)


def portrait() -> np.ndarray:
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])  # BGR, 512x512


def through_h264(frames: list[np.ndarray], crf: int = 28) -> list[np.ndarray]:
    """The frames encoded as H.264 (yuv420p) and decoded again."""
    buffer = io.BytesIO()
    encode_frames(buffer, frames, 'libx264', 'yuv420p', options={'crf': str(crf)}, container='mp4')
    buffer.seek(0)
    with av.open(buffer) as inp:
        return [f.to_ndarray(format='bgr24') for f in inp.decode(video=0)]


def noisy(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return np.clip(np.round(img + rng.normal(0, sigma, img.shape)), 0, 255).astype(np.uint8)


def make_clips(n: int, sigma: float = NOISE, crf: int = CRF) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    face = portrait()
    h, w = face.shape[:2]
    still = [noisy(face, rng, sigma) for _ in range(n)]
    moving = []
    for i in range(n):  # glide right and down, and turn: squeezed sideways about the face's centre
        squeeze = 1 - 0.01 * i
        matrix = np.float32([[squeeze, 0, (1 - squeeze) * 220 + 3 * i - 10], [0, 1, 2 * i - 8]])
        moving.append(noisy(cv2.warpAffine(face, matrix, (w, h), borderMode=cv2.BORDER_REFLECT), rng, sigma))
    pair = np.hstack([face, face[:, ::-1]])
    two = [noisy(pair, rng, sigma) for _ in range(n)]
    other = cv2.resize(face[40:440, 56:456, ::-1][:, ::-1], (w, h), interpolation=cv2.INTER_AREA)  # mirrored, closer
    cut = still[:n // 2] + [noisy(other, rng, sigma) for _ in range(n - n // 2)]
    return {name: through_h264(frames, crf) for name, frames in
            {'still': still, 'moving': moving, 'two faces': two, 'cut': cut}.items()}


def build_network(small: bool) -> torch.nn.Module:
    if small:
        from tests.support.nets import small_codeformer
        return small_codeformer()
    from codeformer.archs import CodeFormer
    from tests.support.golden import golden_weights
    net = CodeFormer().eval()
    net.load_state_dict(golden_weights(net), strict=True)
    return net


class CodeLog:
    """Wraps the network's forward: records every face's codes as decoded, and its raw logits."""

    def __init__(self, net: torch.nn.Module):
        self.codes: list[torch.Tensor] = []
        self.logits: list[torch.Tensor] = []
        self.seconds = 0.0  # in the temporal bookkeeping's code picking
        forward = net.forward

        def logged(x, *args, logits_hook=None, **kwargs):
            def hook(logits):
                t0 = time.perf_counter()
                codes = logits.argmax(2) if logits_hook is None else logits_hook(logits)
                self.seconds += time.perf_counter() - t0 if logits_hook is not None else 0.0
                self.codes.extend(codes.cpu())
                self.logits.extend(logits.float().cpu())
                return codes
            return forward(x, *args, logits_hook=hook, **kwargs)

        net.forward = logged


def track_faces(enhancer: FaceEnhancer, frames: list[np.ndarray]) -> list[list]:
    """Each frame's tracked, smoothed faces, as the video loop finds them."""
    tracker = FaceTracker(smooth=True, radius=radius_for(25))
    out = []
    for i, img in enumerate(frames):
        out += tracker.push(i, enhancer.detect(img))
    out += tracker.flush()
    return [faces for _, faces in sorted(out, key=lambda item: item[0])]


def restore_clip(enhancer: FaceEnhancer, log: CodeLog, frames, faces, temporal: bool,
                 settings: TemporalSettings) -> dict:
    """Per track the input crops, restored crops and codes, frame by frame; and the times."""
    states = TemporalStates(settings) if temporal else None
    tracks: dict[int, dict[str, list]] = {}
    log.codes.clear()
    log.logits.clear()
    log.seconds = 0.0
    wall = bookkeeping = 0.0
    for i, (img, found) in enumerate(zip(frames, faces)):
        t0 = time.perf_counter()
        extra = {}
        if states is not None:
            t1 = time.perf_counter()
            extra['states'] = [states.frame(img, found)]
            bookkeeping += time.perf_counter() - t1
        result = enhancer.enhance_batch([img], faces=[found], paste_back=False, **extra)[0]
        wall += time.perf_counter() - t0
        codes, logits = log.codes[-len(found):], log.logits[-len(found):]
        for face, crop, restored, code, logit in zip(found, result.cropped_faces, result.restored_faces, codes,
                                                     logits):
            track = tracks.setdefault(face.track_id, {'frames': [], 'crops': [], 'restored': [], 'codes': [],
                                                      'logits': []})
            for key, value in zip(track, (i, crop, restored, code, logit)):
                track[key].append(value)
    bookkeeping += log.seconds
    return {'tracks': tracks, 'seconds': wall / len(frames), 'bookkeeping': bookkeeping / len(frames)}


def flip_rate(tracks: dict, skip: set[int] = frozenset()) -> float:
    """Share of code positions that change between consecutive frames of a track (pairs ending in ``skip`` left
    out: the cut)."""
    changed = [float((a != b).float().mean()) for t in tracks.values()
               for (i, a), (j, b) in zip(zip(t['frames'], t['codes']), zip(t['frames'][1:], t['codes'][1:]))
               if j == i + 1 and j not in skip]
    return float(np.mean(changed)) if changed else float('nan')


def _gray(img: np.ndarray, size: int = 256) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (size, size), interpolation=cv2.INTER_AREA)


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).astype(np.float32)
    mapping = grid + flow
    return cv2.remap(img, mapping[..., 0], mapping[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_error(tracks: dict, skip: set[int] = frozenset(), size: int = 256) -> float:
    """Warping error of the restored crops over that of the input crops, flow from the input crops."""
    errors = {'in': [], 'out': []}
    for t in tracks.values():
        for k in range(1, len(t['frames'])):
            if t['frames'][k] != t['frames'][k - 1] + 1 or t['frames'][k] in skip:
                continue
            prev, cur = _gray(t['crops'][k - 1], size), _gray(t['crops'][k], size)
            forward, backward = _flow(prev, cur), _flow(cur, prev)
            back_at = _warp(backward, forward)
            mismatch = ((forward + back_at) ** 2).sum(-1)
            valid = mismatch < 0.01 * ((forward ** 2).sum(-1) + (back_at ** 2).sum(-1)) + 0.5
            for key, imgs in (('in', t['crops']), ('out', t['restored'])):
                a = cv2.resize(imgs[k - 1], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
                b = _warp(cv2.resize(imgs[k], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32), forward)
                errors[key].append(float(np.abs(a - b).mean(-1)[valid].mean()))
    return float(np.mean(errors['out']) / np.mean(errors['in']))


def motion_only(tracks: dict, size: int = 256) -> dict:
    """Each track's first restored crop, moved frame by frame along the flow of its input crops."""
    out = {}
    for key, t in tracks.items():
        moved = [t['restored'][0]]
        for k in range(1, len(t['frames'])):
            prev, cur = _gray(t['crops'][k - 1], size), _gray(t['crops'][k], size)
            side = moved[-1].shape[0]
            back = cv2.resize(_flow(cur, prev), (side, side)) * (side / size)  # where each pixel was before
            moved.append(_warp(moved[-1], back))
        out[key] = dict(t, restored=moved)
    return out


def lag(on: dict, off: dict) -> float:
    """Frames by which the temporal results trail the per-frame ones (best match over shifts of 0 to 3 frames)."""
    def thumbs(tracks):
        t = next(iter(tracks.values()))
        return np.stack([cv2.GaussianBlur(_gray(img, 32).astype(np.float64), (5, 5), 1.5) for img in t['restored']])

    a, b = thumbs(on), thumbs(off)
    n = min(len(a), len(b))
    shifts = np.arange(0, 3.001, 0.05)
    costs = []
    for d in shifts:
        ts = np.arange(int(np.ceil(d)) + 1, n)  # frames whose shifted time lies inside the clip
        if len(ts) < 2:
            costs.append(np.inf)
            continue
        lo = np.floor(ts - d).astype(int)
        frac = (ts - d - lo)[:, None, None]
        shifted = (1 - frac) * b[lo] + frac * b[np.minimum(lo + 1, n - 1)]
        costs.append(float(np.abs(a[ts] - shifted).mean()))
    return float(shifts[int(np.argmin(costs))])


def changes(frames: list[np.ndarray], tracks: dict) -> tuple[list[float], list[float]]:
    """What the resets look at, between consecutive frames: the frames' histogram distance, and per track the
    change of its input crop's thumbnail (``TemporalSettings.cut`` and ``crop_change``)."""
    sig = [frame_signature(img) for img in frames]
    hist = [0.5 * float(np.abs(a - b).sum(1).mean()) for a, b in zip(sig, sig[1:])]
    crop = [float(np.abs(crop_signature(a) - crop_signature(b)).mean()) for t in tracks.values()
            for a, b in zip(t['crops'], t['crops'][1:])]
    return hist, crop


def tune(runs: dict, settings: TemporalSettings) -> None:
    """Flip rate on the still clips over a grid of alpha and margin, from the per-frame logits."""
    print('\nflip rate on the still clips (per-frame logits replayed), by alpha (rows) and margin (columns):')
    margins = (0.0, 0.5, 1.0, 2.0, 3.0, 5.0)
    print('alpha  ' + ' '.join(f'{m:>6}' for m in margins))
    for alpha in (1.0, 0.7, 0.5, 0.3, 0.2):
        rates = []
        for margin in margins:
            changed = []
            for name in [n for n in ('still', 'two faces') if n in runs]:
                for t in runs[name]['off']['tracks'].values():
                    memory = previous = None
                    for logits in t['logits']:
                        memory, codes = pick_codes(logits, memory, previous, alpha, margin)
                        if previous is not None:
                            changed.append(float((codes != previous).float().mean()))
                        previous = codes
            rates.append(np.mean(changed))
        print(f'{alpha:<6} ' + ' '.join(f'{r:6.3f}' for r in rates))


def report(runs: dict, cut_at: int) -> None:
    print('\n| clip | flips off | flips on | on/off | warp err off | warp err on | warp err, motion only '
          '| lag on (frames) | s/frame off | s/frame on | bookkeeping | cut reset exact | hist change max '
          '| crop change max |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for name, run in runs.items():
        skip = {cut_at} if name == 'cut' else set()
        off, on = run['off'], run['on']
        f_off, f_on = flip_rate(off['tracks'], skip), flip_rate(on['tracks'], skip)
        shown_lag = f'{lag(on["tracks"], off["tracks"]):.2f}' if name == 'moving' else ''
        exact = ''
        if name == 'cut':
            t_on, t_off = ([t for t in mode['tracks'].values() if cut_at in t['frames']][0] for mode in (on, off))
            k = t_on['frames'].index(cut_at)
            exact = 'yes' if np.array_equal(t_on['restored'][k], t_off['restored'][k]) else 'NO'
        hist, crop = changes(run['frames'], off['tracks'])
        print(f'| {name} | {f_off:.3f} | {f_on:.3f} | {f_on / max(f_off, 1e-9):.2f} '
              f'| {warp_error(off["tracks"], skip):.3f} | {warp_error(on["tracks"], skip):.3f} '
              f'| {warp_error(motion_only(off["tracks"]), skip):.3f} | {shown_lag} '
              f'| {off["seconds"]:.2f} | {on["seconds"]:.2f} | {100 * on["bookkeeping"] / on["seconds"]:.2f} % '
              f'| {exact} | {max(hist):.3f} | {max(crop):.3f} |')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--frames', type=int, default=8)
    ap.add_argument('--small', action='store_true', help='the small test network instead of the golden weights')
    ap.add_argument('--tune', action='store_true', help='also print the flip rate over a grid of the constants')
    ap.add_argument('-w', type=float, default=0.5)
    ap.add_argument('--noise', type=float, default=NOISE, help='sigma of each frame\'s Gaussian noise, in levels')
    ap.add_argument('--crf', type=int, default=CRF, help='H.264 quality of the clips')
    ap.add_argument('--alpha', type=float, default=None, help='TemporalSettings.alpha to try (default: its own)')
    ap.add_argument('--margin', type=float, default=None, help='TemporalSettings.margin to try (default: its own)')
    ap.add_argument('--clips', nargs='+', default=None, help='only these clips (still, moving, two faces, cut)')
    args = ap.parse_args()
    torch.manual_seed(0)
    net = build_network(args.small)
    log = CodeLog(net)
    enhancer = FaceEnhancer(FaceRestorer(net=net, device='cpu', w=args.w, batch_size=1), upscale=1,
                            detection_model='mtcnn', use_parse=False, progress=False)
    tried = {k: v for k, v in (('alpha', args.alpha), ('margin', args.margin)) if v is not None}
    settings = TemporalSettings(**tried)
    print(f'{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} '
          f'threads; network: {"small test" if args.small else "golden weights, full size"}; w {args.w}; '
          f'{args.frames} frames a clip, noise {args.noise}, crf {args.crf}; {settings}')
    runs = {}
    for name, frames in make_clips(args.frames, args.noise, args.crf).items():
        if args.clips and name not in args.clips:
            continue
        faces = track_faces(enhancer, frames)
        runs[name] = {mode: restore_clip(enhancer, log, frames, faces, mode == 'on', settings)
                      for mode in ('off', 'on')}
        runs[name]['frames'] = frames
        print(f'{name}: {sum(map(len, faces))} faces in {len(frames)} frames', flush=True)
    report(runs, args.frames // 2)
    if args.tune:
        tune(runs, settings)


if __name__ == '__main__':
    main()

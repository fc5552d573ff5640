"""The video loop: decode, restore and encode at the same time, in constant memory, whatever the length.

A thread decodes ahead into a short queue; the main thread detects faces, tracks and smooths them
(``codeformer.video.tracking``) and restores frames in batches with ``FaceEnhancer``; a second thread encodes and writes
(``codeformer.video``). Between them sit a few frames only: those the tracker holds back for smoothing and one batch.
Audio travels in file order with the frames, so it is written interleaved as it came.

Results: ``<out_root>/<name>.mp4``, written under a temporary name and moved into place when complete (a
``<name>.partial.mp4`` left by an earlier, stopped run is removed then). Stopped early (Ctrl-C, SIGTERM through the
command line, or an error part way), the frames done so far are finished as a playable ``<name>.partial.mp4`` and
the temporary file is gone; the complete name appears only for a complete video. A file that is not a video, or
whose frames (or result) would be over ``max_pixels``, is a ``VideoError``; a frame that cannot be decoded, and a
file that ends before the frames it announces, are warnings (``warn``, and ``warnings`` in what is returned).
"""
from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codeformer.enhancer import nearest_to_centre
from codeformer.hooks import NO_HOOKS, WorkHooks
from codeformer.outputs import write_results
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS, check_pixels
from codeformer.video.io import AudioChunk, BadFrame, Frame, VideoError, VideoReader, VideoWriter
from codeformer.video.temporal import TemporalSettings, TemporalStates
from codeformer.video.tracking import FaceTracker, radius_for

MAX_FRAME_WARNINGS = 5  # per video; the rest are counted in one line at the end
_END = object()


@dataclass
class VideoOptions:
    """How videos are written and how faces are followed (the video options of ``restore``)."""
    crf: int = 18
    fps: float | None = None  # --save_video_fps: retime to this rate instead of the input's timestamps
    preset: str = 'medium'
    smooth: bool = True
    detect_every: int = 1
    save_frames: bool = False
    frame_name: str = '{name}_{frame:08d}'  # '{frame:08d}' for a single video, as the official script names them
    suffix: str | None = None
    batch_size: int = 4
    max_pixels: int | None = DEFAULT_MAX_PIXELS  # per frame, input and result
    temporal: bool = True  # --temporal: carry each tracked face's codes across frames (codeformer.video.temporal)
    temporal_settings: TemporalSettings = field(default_factory=TemporalSettings)
    w: float | None = None  # the fidelity weight of this video (None: the restorer's own)


class Stopped(Exception):
    """A video stopped part way; what was done is in ``partial`` (None if nothing could be kept).

    ``interrupted``: the KeyboardInterrupt (or subclass) that stopped it, None when an error did.
    """

    def __init__(self, message: str, partial: Path | None, interrupted: BaseException | None):
        super().__init__(message)
        self.partial, self.interrupted = partial, interrupted


@dataclass
class _Slot:
    """An item on its way to the writer, in file order: audio, or a frame waiting for its faces and restoration."""
    frame: Frame | None = None
    audio: AudioChunk | None = None
    faces: list | None = None
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    image: np.ndarray | None = None  # the restored frame

    @property
    def ready(self) -> bool:
        return self.audio is not None or self.image is not None


def output_path(out_root: Path, name: str) -> Path:
    return out_root / f'{name}.mp4'


def partial_path(target: Path) -> Path:
    """Where a stopped video's frames are kept: ``<name>.partial.mp4`` beside ``<name>.mp4``."""
    return target.with_name(f'{target.stem}.partial{target.suffix}')


def _shortfall(info, frames_read: int, end: float) -> str | None:
    """Why the frames read (``frames_read``, the last ending at ``end`` seconds) are fewer than the file announces,
    or None. With the container's own count, any frame missing counts; with only a duration (which may include a
    longer audio track, and says nothing exact about variable frame rates) half a second or 2 % do."""
    if info.frames_exact and frames_read < info.frames:
        return f'the file ends after {frames_read} of the {info.frames} frames it announces (truncated?)'
    if not info.frames_exact and info.duration and end < info.duration - max(0.5, 0.02 * info.duration):
        return (f'the frames end at {end:.2f} s of the {info.duration:.2f} s the file announces, after '
                f'{frames_read} frames (truncated?)')
    return None


def restore_video(path: str | os.PathLike, target: Path, enhancer, options: VideoOptions, name: str | None = None,
                  quiet: bool = False, warn: Callable[[str], None] | None = None, hooks: WorkHooks = NO_HOOKS) -> dict:
    """Restore the video at ``path`` into ``target``; returns what goes into a report (``warnings`` among it).

    ``name``: the stem of ``save_frames`` files and the progress bar's label (default: the file's own stem).
    Raises ``VideoError`` when the input cannot be read at all or is too large, ``Stopped`` when it stopped part
    way. ``warn`` is called with each warning as it happens (undecodable frames, a file shorter than announced).
    ``hooks``: the front end's stop check (before each detection and each batch of frames; what it raises stops the
    video as Ctrl-C does) and progress (``on_batch(frames, faces)``).
    """
    return VideoRestoration(Path(path), target, enhancer, options, name or Path(path).stem, quiet, warn, hooks).run()


class VideoRestoration:
    """One video through the stages: decode (a thread), detect and track, restore in batches, encode (a thread).

    ``run`` feeds each item of the file to ``_take`` in file order; ``_restore`` runs a batch of frames whose faces
    are settled; ``_drain`` hands what is ready, in order, to the encoder; ``_finish`` makes the file or the partial.
    """

    def __init__(self, path: Path, target: Path, enhancer, options: VideoOptions, name: str, quiet: bool = False,
                 warn: Callable[[str], None] | None = None, hooks: WorkHooks = NO_HOOKS):
        self.path, self.target, self.enhancer, self.options, self.name = path, target, enhancer, options, name
        self.hooks = hooks
        self._warn = warn
        self.reader = VideoReader(path)
        self.info = info = self.reader.info
        try:
            check_pixels(path, info.width, info.height, options.max_pixels, 'each frame')
            out_h, out_w = enhancer.output_size(info.height, info.width)
            check_pixels(path, out_w, out_h, options.max_pixels, 'each restored frame')
        except BaseException:
            self.reader.close()
            raise
        self.warnings: list[str] = []
        self.tail = f'_{options.suffix}' if options.suffix else ''
        self.stats = {'frames': 0, 'frames_undecodable': 0, 'faces': 0}
        self.tracker = FaceTracker(smooth=options.smooth, radius=radius_for(info.fps))
        # codes with memory need the PyTorch network (an ONNX export has no hook for them): per frame otherwise
        self.temporal = (TemporalStates(options.temporal_settings)
                         if options.temporal and _picks_codes(enhancer) else None)
        self.pending: deque[_Slot] = deque()  # file order, up to the encoder
        self.waiting: dict[int, _Slot] = {}  # frames whose faces the tracker still holds back
        self.batch: list[_Slot] = []  # frames with their faces, waiting for the network
        self.position = 0
        self.last_end = 0.0  # seconds: where the last frame read ends
        self.bar = tqdm(total=info.frames or None, unit='frame', desc=name, disable=quiet, file=sys.stderr,
                        dynamic_ncols=True)

    def say(self, message: str) -> None:
        self.warnings.append(message)
        if self._warn is not None:
            self._warn(message)

    def run(self) -> dict:
        options, info = self.options, self.info
        if options.fps:
            fps = Fraction(options.fps).limit_denominator(100000)
            time_base = 1 / fps
        else:
            fps, time_base = info.fps, info.time_base
        self.tmp = self.target.with_name(f'.{self.target.name}.part')
        self.writer = VideoWriter(self.tmp, fps, time_base, crf=options.crf, preset=options.preset, audio=info.audio)
        stop = threading.Event()
        decoded: queue.Queue = queue.Queue(maxsize=2 * options.batch_size + 8)
        decoder = threading.Thread(target=_decode, args=(self.reader, decoded, stop), name='video-decode',
                                   daemon=True)
        self.encoder = _Encoder(self.writer, queue.Queue(maxsize=options.batch_size + 4), self.target.parent,
                                options.frame_name, self.name, options.fps is not None)
        decoder.start()
        self.encoder.start()
        self.started = time.perf_counter()
        interrupted: BaseException | None = None
        failure: str | None = None
        try:
            for item in _items(decoded):
                self._take(item)
            self._settle(self.tracker.flush())
            self._restore()
            self._drain()
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into one by the command line
            interrupted = exc
        except _Failed as exc:
            failure = str(exc)
        finally:
            stop.set()
            if interrupted or failure:
                self._drain()  # what is restored and in order still goes in
            self.encoder.finish()
            decoder.join(timeout=10)
            if not decoder.is_alive():
                self.reader.close()  # only now: the writer set its audio streams up from the reader's
            self.bar.close()
        return self._finish(interrupted, failure)

    def _take(self, item) -> None:
        """One item of the file: a frame to detect and track, audio to pass on in order, or a frame lost."""
        if self.encoder.error is not None:
            raise _Failed(self.encoder.error)
        if isinstance(item, Frame):
            slot = _Slot(frame=item)
            self.pending.append(slot)
            self.waiting[item.index] = slot
            detect = self.position % self.options.detect_every == 0
            self.position += 1
            if detect:
                self.hooks.checkpoint()
            try:
                detections = self.enhancer.detect(item.image) if detect else None
            except Exception as exc:  # noqa: BLE001  (the video stops here; what was done is kept)
                raise _Failed(f'frame {item.index}: cannot detect faces ({exc})') from exc
            follow = item.image if self.options.detect_every > 1 else None
            self._settle(self.tracker.push(item.index, detections, follow))
            self.stats['frames'] += 1
            self.last_end = item.time + float(item.duration * self.info.time_base)
        elif isinstance(item, AudioChunk):
            self.pending.append(_Slot(audio=item))
        elif isinstance(item, BadFrame):
            self.stats['frames_undecodable'] += 1
            if self.stats['frames_undecodable'] <= MAX_FRAME_WARNINGS or item.fatal:
                when = f' at {item.time:.3f} s' if item.time is not None else ''
                self.say(f'{self.path}: frame {item.index}{when}: {item.message}')
        if len(self.batch) >= self.options.batch_size:
            self._restore()
        self._drain()

    def _settle(self, ready: list[tuple[int, list]]) -> None:
        """Frames whose faces the tracker has settled join the batch for the network."""
        for index, faces in ready:
            slot = self.waiting.pop(index)
            slot.faces = faces
            self.batch.append(slot)

    def _restore(self) -> None:
        slots, self.batch = self.batch, []
        if not slots:
            return
        enhancer = self.enhancer
        # the centre face is chosen after tracking, so it does not jump between frames
        faces = [nearest_to_centre(s.faces, s.frame.image.shape) if enhancer.only_center_face else s.faces
                 for s in slots]
        extra = {}
        if self.temporal is not None:  # in file order, so each track's memory follows the frames
            extra['states'] = [self.temporal.frame(s.frame.image, f) for s, f in zip(slots, faces)]
        self.hooks.checkpoint()
        hooks = self.hooks  # after each network call too: a stop or a waiting task need not wait for the whole batch
        extra['on_progress'] = lambda done, found: hooks.on_progress(len(slots), done, found)
        try:
            results = enhancer.enhance_batch([s.frame.image for s in slots], faces=faces, w=self.options.w, **extra)
        except Exception as exc:  # noqa: BLE001  (the video stops here; what was done is kept)
            raise _Failed(f'frame {slots[0].frame.index}: cannot restore ({exc})') from exc
        for slot, res in zip(slots, results):
            slot.image = res.restored_img
            self.stats['faces'] += len(res.restored_faces)
            if self.options.save_frames:
                slot.outputs = res.official_files(self.tail)
            slot.frame.image = None
        self.hooks.on_batch(len(slots), sum(len(r.restored_faces) for r in results))
        self.bar.update(len(slots))
        self.bar.set_postfix_str(f'{self.stats["faces"] / max(1e-9, time.perf_counter() - self.started):.2f} faces/s')

    def _drain(self) -> None:
        while self.pending and self.pending[0].ready:
            self.encoder.put(self.pending.popleft())

    def _finish(self, interrupted: BaseException | None, failure: str | None) -> dict:
        """The complete file moved into place, or the frames done kept as the partial; the report's figures."""
        writer, info, stats = self.writer, self.info, self.stats
        if self.encoder.error is not None and failure is None:
            failure = self.encoder.error
        elapsed = time.perf_counter() - self.started
        stats.update({'frames_written': writer.frames, 'seconds': round(elapsed, 3),
                      'fps': round(writer.frames / max(elapsed, 1e-9), 3), 'video': info.describe(),
                      'rotation': self.reader.rotation or 0})
        if stats['frames_undecodable'] > MAX_FRAME_WARNINGS:
            self.say(f'{self.path}: {stats["frames_undecodable"]} frames could not be decoded and were skipped')
        if interrupted or failure:
            partial = _keep_partial(self.tmp, self.target, writer.frames, self.encoder.closed)
            done = f'{writer.frames} of {info.frames or "?"} frames'
            kept = f'kept in {partial}' if partial else 'nothing kept'
            if interrupted:
                raise Stopped(f'{self.path}: interrupted after {done}, {kept}', partial, interrupted)
            raise Stopped(f'{self.path}: {failure}; {done} done, {kept}', partial, None)
        if writer.frames == 0:
            self.tmp.unlink(missing_ok=True)
            raise VideoError(f'{self.path}: no frame could be decoded')
        short = _shortfall(info, stats['frames'] + stats['frames_undecodable'], self.last_end)
        if short:
            self.say(f'{self.path}: {short}')
        os.replace(self.tmp, self.target)
        partial_path(self.target).unlink(missing_ok=True)  # left by an earlier, stopped run: this one is complete
        stats['warnings'] = self.warnings
        return stats


def _picks_codes(enhancer) -> bool:
    """Whether the enhancer's network takes codes picked outside it (its backend's ``picks_codes``: PyTorch's does;
    a stand-in restorer that does not say is taken at its word for ``states``)."""
    restorer = getattr(enhancer, 'restorer', None)
    return restorer is not None and bool(getattr(restorer, 'picks_codes', True))


class _Failed(Exception):
    """Restoring or writing failed: the video stops, keeping what was done."""


def _keep_partial(tmp: Path, target: Path, frames: int, closed: bool) -> Path | None:
    if not closed or frames == 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        return None
    partial = partial_path(target)
    os.replace(tmp, partial)
    return partial


def _put(out: queue.Queue, item, stop: threading.Event) -> bool:
    """Put ``item`` into ``out``, waiting for room unless ``stop`` is set; False if it was not put."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _decode(reader: VideoReader, out: queue.Queue, stop: threading.Event) -> None:
    """The decoding thread: items into ``out`` until the end, an error (passed on) or ``stop``."""
    try:
        for item in reader:
            if not _put(out, item, stop):
                return
        message = _END
    except Exception as exc:  # noqa: BLE001  (handed to the main thread)
        message = _Failed(f'cannot decode ({exc})')
    _put(out, message, stop)


def _items(q: queue.Queue) -> Iterator:
    while True:
        item = q.get()
        if item is _END:
            return
        if isinstance(item, _Failed):
            raise item
        yield item


class _Encoder(threading.Thread):
    """The writing thread: encodes frames and audio in order, saves ``--save_frames`` PNGs, finishes the file.

    An error stops the writing but not the draining (so the main thread never blocks on a full queue); it is
    reported through ``error``.
    """

    def __init__(self, writer: VideoWriter, q: queue.Queue, frames_root: Path, frame_name: str, name: str,
                 retime: bool):
        super().__init__(name='video-encode', daemon=False)  # not daemon: a file being finished gets finished
        self.writer, self.q = writer, q
        self.frames_root, self.frame_name, self.name, self.retime = frames_root, frame_name, name, retime
        self.error: str | None = None
        self.closed = False

    def put(self, slot: _Slot) -> None:
        self.q.put(slot)

    def finish(self) -> None:
        """No more items: finish the file and wait for it."""
        self.q.put(_END)
        self.join()

    def run(self) -> None:
        while True:
            slot = self.q.get()
            if slot is _END:
                break
            if self.error is not None:
                continue
            try:
                self._write(slot)
            except Exception as exc:  # noqa: BLE001  (reported by the main thread)
                self.error = f'cannot write {self.writer.path.name} ({exc})'
        try:
            self.writer.close()
            self.closed = True
        except Exception as exc:  # noqa: BLE001
            self.writer.abort()
            self.error = self.error or f'cannot finish {self.writer.path.name} ({exc})'

    def _write(self, slot: _Slot) -> None:
        if slot.audio is not None:
            self.writer.write_audio(slot.audio)
            return
        frame = slot.frame
        if self.retime:  # a constant rate: one tick per frame, gaps of undecodable frames kept
            self.writer.write_frame(slot.image, frame.index, 1)
        else:
            self.writer.write_frame(slot.image, frame.pts, frame.duration)
        if slot.outputs:
            stem = self.frame_name.format(name=self.name, frame=frame.index)
            write_results(self.frames_root, stem, slot.outputs)
        slot.image = None

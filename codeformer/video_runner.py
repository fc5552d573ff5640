"""The video loop: decode, restore and encode at the same time, in constant memory, whatever the length.

A thread decodes ahead into a short queue; the main thread detects faces, tracks and smooths them
(``codeformer.tracking``) and restores frames in batches with ``FaceEnhancer``; a second thread encodes and writes
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
from codeformer.tracking import FaceTracker, radius_for
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS, check_pixels, write_image
from codeformer.utils.inputs import InputFile
from codeformer.video import AudioChunk, BadFrame, Frame, VideoError, VideoReader, VideoWriter

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


def restore_video(inp: InputFile, target: Path, enhancer, options: VideoOptions, quiet: bool = False,
                  warn: Callable[[str], None] | None = None) -> dict:
    """Restore one video into ``target``; returns what goes into the report (``warnings`` among it).

    Raises ``VideoError`` when the input cannot be read at all or is too large, ``Stopped`` when it stopped part
    way. ``warn`` is called with each warning as it happens (undecodable frames, a file shorter than announced).
    """
    reader = VideoReader(inp.path)
    info = reader.info
    try:
        check_pixels(inp.path, info.width, info.height, options.max_pixels, 'each frame')
        out_h, out_w = enhancer.output_size(info.height, info.width)
        check_pixels(inp.path, out_w, out_h, options.max_pixels, 'each restored frame')
    except BaseException:
        reader.close()
        raise
    warnings: list[str] = []

    def say(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    if options.fps:
        fps = Fraction(options.fps).limit_denominator(100000)
        time_base = 1 / fps
    else:
        fps, time_base = info.fps, info.time_base
    tmp = target.with_name(f'.{target.name}.part')
    writer = VideoWriter(tmp, fps, time_base, crf=options.crf, preset=options.preset, audio=info.audio)
    frames_root = target.parent
    tail = f'_{options.suffix}' if options.suffix else ''
    bar = tqdm(total=info.frames or None, unit='frame', desc=inp.name, disable=quiet, file=sys.stderr,
               dynamic_ncols=True)
    stats = {'frames': 0, 'frames_undecodable': 0, 'faces': 0}
    stop = threading.Event()
    decoded: queue.Queue = queue.Queue(maxsize=2 * options.batch_size + 8)
    encoded: queue.Queue = queue.Queue(maxsize=options.batch_size + 4)
    decoder = threading.Thread(target=_decode, args=(reader, decoded, stop), name='video-decode', daemon=True)
    encoder = _Encoder(writer, encoded, frames_root, options.frame_name, inp.name, tail, options.fps is not None)
    decoder.start()
    encoder.start()
    tracker = FaceTracker(smooth=options.smooth, radius=radius_for(info.fps))
    pending: deque[_Slot] = deque()
    waiting: dict[int, _Slot] = {}
    batch: list[_Slot] = []
    position = 0
    started = time.perf_counter()

    def restore(slots: list[_Slot]) -> None:
        if not slots:
            return
        # the centre face is chosen after tracking, so it does not jump between frames
        faces = [nearest_to_centre(s.faces, s.frame.image.shape) if enhancer.only_center_face else s.faces
                 for s in slots]
        try:
            results = enhancer.enhance_batch([s.frame.image for s in slots], faces=faces)
        except Exception as exc:  # noqa: BLE001  (the video stops here; what was done is kept)
            raise _Failed(f'frame {slots[0].frame.index}: cannot restore ({exc})') from exc
        for slot, res in zip(slots, results):
            slot.image = res.restored_img
            stats['faces'] += len(res.restored_faces)
            if options.save_frames:
                slot.outputs = {f'final_results/{{frame}}{tail}.png': res.restored_img}
                for i, (crop, face) in enumerate(zip(res.cropped_faces, res.restored_faces)):
                    slot.outputs[f'cropped_faces/{{frame}}_{i:02d}.png'] = crop
                    slot.outputs[f'restored_faces/{{frame}}_{i:02d}{tail}.png'] = face
            slot.frame.image = None
        bar.update(len(slots))
        bar.set_postfix_str(f'{stats["faces"] / max(1e-9, time.perf_counter() - started):.2f} faces/s')

    def settle(ready: list[tuple[int, list]]) -> None:
        for index, faces in ready:
            slot = waiting.pop(index)
            slot.faces = faces
            batch.append(slot)

    def drain() -> None:
        while pending and pending[0].ready:
            encoder.put(pending.popleft())

    last_end = 0.0  # seconds: where the last frame read ends
    interrupted: BaseException | None = None
    failure: str | None = None
    try:
        for item in _items(decoded):
            if encoder.error is not None:
                raise _Failed(encoder.error)
            if isinstance(item, Frame):
                slot = _Slot(frame=item)
                pending.append(slot)
                waiting[item.index] = slot
                detect = position % options.detect_every == 0
                position += 1
                try:
                    detections = enhancer.detect(item.image) if detect else None
                except Exception as exc:  # noqa: BLE001  (the video stops here; what was done is kept)
                    raise _Failed(f'frame {item.index}: cannot detect faces ({exc})') from exc
                follow = item.image if options.detect_every > 1 else None
                settle(tracker.push(item.index, detections, follow))
                stats['frames'] += 1
                last_end = item.time + float(item.duration * info.time_base)
            elif isinstance(item, AudioChunk):
                pending.append(_Slot(audio=item))
            elif isinstance(item, BadFrame):
                stats['frames_undecodable'] += 1
                if stats['frames_undecodable'] <= MAX_FRAME_WARNINGS or item.fatal:
                    when = f' at {item.time:.3f} s' if item.time is not None else ''
                    say(f'{inp.path}: frame {item.index}{when}: {item.message}')
            if len(batch) >= options.batch_size:
                restore(batch)
                batch.clear()
            drain()
        settle(tracker.flush())
        restore(batch)
        batch.clear()
        drain()
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into one by the command line
        interrupted = exc
    except _Failed as exc:
        failure = str(exc)
    finally:
        stop.set()
        if interrupted or failure:
            drain()  # what is restored and in order still goes in
        encoder.finish()
        decoder.join(timeout=10)
        if not decoder.is_alive():
            reader.close()  # only now: the writer set its audio streams up from the reader's
        bar.close()
    if encoder.error is not None and failure is None:
        failure = encoder.error
    elapsed = time.perf_counter() - started
    stats.update({'frames_written': writer.frames, 'seconds': round(elapsed, 3),
                  'fps': round(writer.frames / max(elapsed, 1e-9), 3), 'video': info.describe(),
                  'rotation': reader.rotation or 0})
    if stats['frames_undecodable'] > MAX_FRAME_WARNINGS:
        say(f'{inp.path}: {stats["frames_undecodable"]} frames could not be decoded and were skipped')
    if interrupted or failure:
        partial = _keep_partial(tmp, target, writer.frames, encoder.closed)
        done = f'{writer.frames} of {info.frames or "?"} frames'
        kept = f'kept in {partial}' if partial else 'nothing kept'
        if interrupted:
            raise Stopped(f'{inp.path}: interrupted after {done}, {kept}', partial, interrupted)
        raise Stopped(f'{inp.path}: {failure}; {done} done, {kept}', partial, None)
    if writer.frames == 0:
        tmp.unlink(missing_ok=True)
        raise VideoError(f'{inp.path}: no frame could be decoded')
    short = _shortfall(info, stats['frames'] + stats['frames_undecodable'], last_end)
    if short:
        say(f'{inp.path}: {short}')
    os.replace(tmp, target)
    partial_path(target).unlink(missing_ok=True)  # left by an earlier, stopped run: this one is complete
    stats['warnings'] = warnings
    return stats


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
                 tail: str, retime: bool):
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
            for rel, img in slot.outputs.items():
                write_image(self.frames_root / rel.format(frame=stem), img)
        slot.image = None

"""The video loop: decode, restore and encode at the same time, in constant memory, whatever the length.

A thread decodes ahead into a short queue; the main thread detects faces, tracks and smooths them
(``codeformer.tracking``) and restores frames in batches with ``FaceEnhancer``; a second thread encodes and writes
(``codeformer.video``). Between them sit a few frames only: those the tracker holds back for smoothing and one batch.
Audio travels in file order with the frames, so it is written interleaved as it came.

Results: ``<out_root>/<name>.mp4``, written under a temporary name and moved into place when complete. Stopped early
(Ctrl-C, or an error part way), the frames done so far are finished as a playable ``<name>.partial.mp4``; the complete
name appears only for a complete video, so ``--skip_existing`` redoes stopped ones. A file that is not a video is one
error line and exit code 1, and the batch goes on; a frame that cannot be decoded is a warning and leaves a gap in
time (the frames after it keep their timestamps).
"""
from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codeformer.enhancer import nearest_to_centre
from codeformer.runner import EXIT_OK, EXIT_SOME_FAILED, Record, say_error, write_report
from codeformer.tracking import FaceTracker, radius_for
from codeformer.utils.image_io import write_image
from codeformer.utils.inputs import InputFile
from codeformer.video import AudioChunk, BadFrame, Frame, VideoError, VideoReader, VideoWriter

EXIT_INTERRUPTED = 130  # what shells report for Ctrl-C
MAX_FRAME_WARNINGS = 5  # per video; the rest are counted in the summary line
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


def options_from_args(args, single_video: bool) -> VideoOptions:
    """``VideoOptions`` from the parsed ``restore`` command line."""
    return VideoOptions(crf=args.crf, fps=args.save_video_fps, smooth=not args.no_smooth,
                        detect_every=args.detect_every, save_frames=args.save_frames,
                        frame_name='{frame:08d}' if single_video else '{name}_{frame:08d}', suffix=args.suffix,
                        batch_size=args.batch_size)


class Stopped(Exception):
    """A video stopped part way; what was done is in ``partial`` (None if nothing could be kept)."""

    def __init__(self, message: str, partial: Path | None, interrupted: bool):
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


def _say(kind: str, message: str) -> None:
    tqdm.write(f'{kind}: {message}', file=sys.stderr)


def output_path(out_root: Path, name: str) -> Path:
    return out_root / f'{name}.mp4'


def run_videos(inputs: Sequence[InputFile], out_root: Path, enhancer, options: VideoOptions,
               skip_existing: bool = False, quiet: bool = False, report: Path | None = None,
               merge_report: bool = False) -> int:
    """Restore every video in ``inputs``; the exit code is 0 (all done), 1 (some failed) or 130 (stopped by Ctrl-C).

    ``merge_report``: add the records to the list an image run wrote to ``report`` before.
    """
    records: list[Record] = []
    failed, code = 0, EXIT_OK
    for inp in inputs:
        rec = Record(str(inp.path))
        records.append(rec)
        target = output_path(out_root, inp.name)
        if skip_existing and target.exists():
            rec.skipped = True
            continue
        started = time.perf_counter()
        try:
            rec.info = restore_video(inp, target, enhancer, options, quiet=quiet)
            rec.outputs.append(str(target))
        except VideoError as exc:
            rec.error = str(exc)
            say_error(rec.error)
            failed += 1
        except Stopped as exc:
            rec.error = str(exc)
            if exc.partial is not None:
                rec.outputs.append(str(exc.partial))
            _say('stopped' if exc.interrupted else 'error', str(exc))
            failed += 1
            if exc.interrupted:
                code = EXIT_INTERRUPTED
                break
        finally:
            rec.seconds['total'] = round(time.perf_counter() - started, 3)
    if report is not None:
        _write_report(report, records, merge_report)
    if not quiet:
        done = sum(1 for r in records if not r.error and not r.skipped)
        skipped = sum(1 for r in records if r.skipped)
        print(f'videos: {done} done, {failed} failed' + (f', {skipped} skipped (already done)' if skipped else '')
              + f'; results in {out_root}', file=sys.stderr)
    if code == EXIT_INTERRUPTED:
        return code
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _write_report(path: Path, records: list[Record], merge: bool) -> None:
    earlier = []
    if merge and path.exists():
        try:
            earlier = json.loads(path.read_text())
        except (OSError, ValueError):
            earlier = []
    combined = [Record(**{k: v for k, v in r.items() if k in Record.__dataclass_fields__}) for r in earlier]
    write_report(path, [*combined, *records])


def restore_video(inp: InputFile, target: Path, enhancer, options: VideoOptions, quiet: bool = False) -> dict:
    """Restore one video into ``target``; returns what goes into the report.

    Raises ``VideoError`` when the input cannot be read at all, ``Stopped`` when it stopped part way.
    """
    reader = VideoReader(inp.path)
    info = reader.info
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

    interrupted = False
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
            elif isinstance(item, AudioChunk):
                pending.append(_Slot(audio=item))
            elif isinstance(item, BadFrame):
                stats['frames_undecodable'] += 1
                if stats['frames_undecodable'] <= MAX_FRAME_WARNINGS or item.fatal:
                    when = f' at {item.time:.3f} s' if item.time is not None else ''
                    _say('warning', f'{inp.path}: frame {item.index}{when}: {item.message}')
            if len(batch) >= options.batch_size:
                restore(batch)
                batch.clear()
            drain()
        settle(tracker.flush())
        restore(batch)
        batch.clear()
        drain()
    except KeyboardInterrupt:
        interrupted = True
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
        _say('warning', f'{inp.path}: {stats["frames_undecodable"]} frames could not be decoded and were skipped')
    if interrupted or failure:
        partial = _keep_partial(tmp, target, writer.frames, encoder.closed)
        done = f'{writer.frames} of {info.frames or "?"} frames'
        kept = f'kept in {partial}' if partial else 'nothing kept'
        if interrupted:
            raise Stopped(f'{inp.path}: interrupted after {done}, {kept}', partial, True)
        raise Stopped(f'{inp.path}: {failure}; {done} done, {kept}', partial, False)
    if writer.frames == 0:
        tmp.unlink(missing_ok=True)
        raise VideoError(f'{inp.path}: no frame could be decoded')
    os.replace(tmp, target)
    return stats


class _Failed(Exception):
    """Restoring or writing failed: the video stops, keeping what was done."""


def _keep_partial(tmp: Path, target: Path, frames: int, closed: bool) -> Path | None:
    if not closed or frames == 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        return None
    partial = target.with_name(f'{target.stem}.partial{target.suffix}')
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

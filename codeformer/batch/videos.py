"""The videos of a run: each through ``codeformer.video.loop.restore_video``, recorded in the run's log."""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from codeformer.batch.options import RunOptions
from codeformer.batch.report import RunLog
from codeformer.errors import CodeformerError
from codeformer.utils.inputs import InputFile
from codeformer.video.loop import Stopped, VideoOptions, output_path, restore_video


def video_options(options: RunOptions, batch_size: int, single_video: bool) -> VideoOptions:
    """How the videos of this run are written and followed."""
    video = options.video
    frame_name = '{frame:08d}' if single_video else '{name}_{frame:08d}'
    return VideoOptions(crf=video.crf, fps=video.fps, smooth=video.smooth, detect_every=video.detect_every,
                        save_frames=video.save_frames, frame_name=frame_name,
                        suffix=options.output.suffix, batch_size=batch_size, max_pixels=options.output.max_pixels,
                        temporal=video.temporal)


def video_done(out_root: Path, inp: InputFile) -> bool:
    """Whether ``inp``'s finished video exists (``skip_existing``)."""
    return output_path(out_root, inp.name).exists()


def run_videos(log: RunLog, inputs: Sequence[InputFile], enhancer, options: VideoOptions,
               skip_existing: bool = False) -> None:
    """Restore every video in ``inputs`` into ``log.out_root``. A stopped run (Ctrl-C, SIGTERM) records the video
    as stopped, with what was kept, and raises the interruption again."""
    for inp in inputs:
        rec = log.add(inp)
        target = output_path(log.out_root, inp.name)
        if skip_existing and video_done(log.out_root, inp):
            log.skip(rec)
            continue
        started = time.perf_counter()
        try:
            rec.info = restore_video(inp.path, target, enhancer, options, name=inp.name, quiet=log.quiet,
                                     warn=lambda message, rec=rec: log.warn(rec, message))
            rec.info.pop('warnings', None)  # already in the record
            rec.outputs.append(str(target))
            log.done(rec)
        except CodeformerError as exc:
            log.fail(rec, str(exc))
        except Stopped as exc:
            if exc.partial is not None:
                rec.outputs.append(str(exc.partial))
            if exc.interrupted is not None:
                log.fail(rec, str(exc), status='stopped')
                raise exc.interrupted from None
            log.fail(rec, str(exc))
        finally:
            rec.seconds['total'] = round(time.perf_counter() - started, 3)

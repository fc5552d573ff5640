"""The video loop of ``restore``: each video through ``codeformer.video_runner``, recorded in the run's log."""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from codeformer.cli.log import RunLog, say
from codeformer.errors import CodeformerError
from codeformer.utils.inputs import InputFile
from codeformer.video_runner import Stopped, VideoOptions, output_path, restore_video


def video_options(args, single_video: bool, max_pixels: int | None) -> VideoOptions:
    """``VideoOptions`` from the parsed ``restore`` command line."""
    return VideoOptions(crf=args.crf, fps=args.save_video_fps, smooth=not args.no_smooth,
                        detect_every=args.detect_every, save_frames=args.save_frames,
                        frame_name='{frame:08d}' if single_video else '{name}_{frame:08d}', suffix=args.suffix,
                        batch_size=args.batch_size, max_pixels=max_pixels)


def video_done(out_root: Path, inp: InputFile) -> bool:
    """Whether ``inp``'s finished video exists (``--skip_existing``)."""
    return output_path(out_root, inp.name).exists()


def run_videos(log: RunLog, inputs: Sequence[InputFile], enhancer, options: VideoOptions,
               skip_existing: bool = False) -> None:
    """Restore every video in ``inputs`` into ``log.out_root``. A stopped run (Ctrl-C, SIGTERM) records the video
    with what was kept and raises the interruption again."""
    for inp in inputs:
        rec = log.add(inp)
        target = output_path(log.out_root, inp.name)
        if skip_existing and video_done(log.out_root, inp):
            rec.skipped = True
            continue
        started = time.perf_counter()
        try:
            rec.info = restore_video(inp, target, enhancer, options, quiet=log.quiet,
                                     warn=lambda message, rec=rec: log.warn(rec, message))
            rec.info.pop('warnings', None)  # already in the record
            rec.outputs.append(str(target))
        except CodeformerError as exc:
            log.fail(rec, str(exc))
        except Stopped as exc:
            if exc.partial is not None:
                rec.outputs.append(str(exc.partial))
            if exc.interrupted is not None:
                rec.error = str(exc)
                say('stopped', exc)
                raise exc.interrupted from None
            log.fail(rec, str(exc))
        finally:
            rec.seconds['total'] = round(time.perf_counter() - started, 3)

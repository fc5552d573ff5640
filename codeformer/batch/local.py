"""A run's share of files through the loops on this machine: images, then videos (a folder may hold both). What a
local run does with all its files, and what each Ray actor does with the batches it is given."""
from __future__ import annotations

from pathlib import Path

from codeformer.batch.jobs import Job
from codeformer.batch.options import RunOptions
from codeformer.batch.report import RunLog
from codeformer.utils.inputs import InputFile


def run_local(log: RunLog, job: Job, options: RunOptions, images: list[InputFile], videos: list[InputFile],
              protected: list[Path], single_video: bool) -> None:
    """``images`` and ``videos`` through their loops, each recorded in ``log``."""
    from codeformer.batch.images import run_images
    for inp in images + videos:  # every input on record before any work: a stop leaves the rest 'not started'
        log.add(inp)
    if images:
        run_images(log, images, job, batch_size=job.batch_size, skip_existing=options.output.skip_existing,
                   max_pixels=options.output.max_pixels, protected=protected)
    if videos:
        from codeformer.batch.videos import run_videos, video_options
        run_videos(log, videos, job.enhancer, video_options(options, job.batch_size, single_video),
                   skip_existing=options.output.skip_existing)

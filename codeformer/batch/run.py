"""One run of ``restore``, ``colorize`` or ``inpaint`` from ``RunOptions``: inputs found, every check made, networks
loaded, then images and videos through their loops (here, or on a Ray cluster) into one log and one report; what
happened comes back as a ``RunOutcome``, which the front end says and turns into an exit code. A
``CodeformerError`` raised before the loops stops the run before any input is touched (exit code 2 where a front end
turns it into one)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from codeformer.batch.checks import UsageError, no_input_replaced, writable_file, writable_folder
from codeformer.batch.jobs import build_job
from codeformer.batch.local import run_local
from codeformer.batch.options import RunOptions
from codeformer.batch.report import VIDEO_AMONG_FACES, RunLog, RunOutcome
from codeformer.batch.shards import local_device, resolve_shard, take_shard
from codeformer.utils.inputs import InputFile, run_name, scan_inputs


def run(options: RunOptions, say: Callable[[str, str], None] | None = None) -> RunOutcome:
    """Do the run; what it did. ``say(kind, message)``: the front end's way of saying each error and warning as it
    happens (None: recorded only)."""
    shard = resolve_shard(options.scale.shard)
    if shard is not None and options.network.device == 'auto':  # one process per GPU: each on its own
        import torch
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        options = options.but(network={'device': local_device(options.network.device, gpus)})
    if options.scale.ray is not None:
        from codeformer.batch.ray_runner import require_ray
        require_ray()
    inputs, passed_over = _inputs(options)
    mine = take_shard(inputs, options.output.input_path, shard)  # after listing all: names as in a single run
    images = [inp for inp in mine if inp.kind == 'image']
    videos = [inp for inp in mine if inp.kind == 'video']

    w = options.network.w
    name = run_name(options.output.input_path)
    out_root = Path(options.output.output_path or os.path.join('results', f'{name}_{w}' if w is not None else name))
    writable_folder(out_root)
    report = Path(options.output.report) if options.output.report else None
    if report is not None:
        report = shard.report_path(report) if shard else report
        writable_file(report, 'report')
        no_input_replaced([inp.path for inp in inputs], [report], 'report')

    # on Ray the networks run in the actors; here only what the checks need (weights, layout)
    on_ray = options.scale.ray is not None
    job = build_job(options.but(network={'device': 'cpu', 'batch_size': 1}) if on_ray else options)
    from codeformer.video.loop import output_path
    planned = [out_root / job.marker(inp.name).format(name=inp.name) if inp.kind == 'image'
               else output_path(out_root, inp.name) for inp in inputs]  # every shard's: all refuse alike
    no_input_replaced([inp.path for inp in inputs], planned)

    log = RunLog(out_root, passed_over, options.quiet, label=f'shard {shard}' if shard else '', say=say)
    protected = [inp.path for inp in inputs]
    interrupted = None
    try:
        if on_ray:
            from codeformer.batch.ray_runner import run_on_ray
            run_on_ray(log, job, options, images + videos, protected, single_video=len(inputs) == 1)
        else:
            run_local(log, job, options, images, videos, protected, single_video=len(inputs) == 1)
    except KeyboardInterrupt as exc:
        interrupted = exc
    return log.finish(report, interrupted)


def _inputs(options: RunOptions) -> tuple[list[InputFile], dict]:
    """The run's inputs and what was passed over; videos only where whole frames are restored."""
    kinds = ('image', 'video') if options.command == 'restore' else ('image', )
    scan = scan_inputs(options.output.input_path, kinds=kinds)
    inputs, passed_over = scan.files, scan.passed_over
    videos = [inp for inp in inputs if inp.kind == 'video']
    if videos and not options.whole_photos:
        if len(videos) == len(inputs):
            raise UsageError(f'{videos[0].path}: videos are restored as whole frames; leave it out', 'has_aligned',
                             True)
        passed_over[VIDEO_AMONG_FACES] += len(videos)
        inputs = [inp for inp in inputs if inp.kind == 'image']
    return inputs, passed_over

"""The ``restore``, ``colorize`` and ``inpaint`` commands: inputs found, every check made, networks loaded, then
images and videos through their loops into one log (one report, one summary, one exit code)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from codeformer.cli.arguments import check_detector, precision_of
from codeformer.cli.checks import UsageError, no_input_replaced, writable_file, writable_folder
from codeformer.cli.log import EXIT_OK, RunLog, interruption_code, say
from codeformer.cli.shards import local_device, resolve_shard, take_shard
from codeformer.utils.inputs import InputFile, run_name, scan_inputs


def run_faces(command: str, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Shared body of the three front doors. A ``CodeformerError`` raised here stops the run before any input is
    touched (the caller turns it into exit code 2)."""
    from codeformer.runtime import auto_batch_size, inference_dtype, select_device

    whole = command == 'restore' and not args.has_aligned
    if whole:
        check_detector(parser, args.detection_model)
    shard = resolve_shard(args.shard)
    if shard is not None and args.device == 'auto':  # one process per GPU: each on its own
        import torch
        args.device = local_device(args.device, torch.cuda.device_count() if torch.cuda.is_available() else 0)
    if args.ray is not None:
        from codeformer.cli.ray_runner import require_ray
        require_ray()
    scan = scan_inputs(args.input_path, kinds=('image', 'video') if command == 'restore' else ('image', ))
    inputs, passed_over = scan.files, scan.passed_over
    if not whole and any(inp.kind == 'video' for inp in inputs):
        videos = [inp for inp in inputs if inp.kind == 'video']
        if len(videos) == len(inputs):
            raise UsageError(f'{videos[0].path}: videos are restored as whole frames: leave out --has_aligned')
        passed_over['video with --has_aligned'] += len(videos)
        inputs = [inp for inp in inputs if inp.kind == 'image']
    mine = take_shard(inputs, args.input_path, shard)  # after listing all: names as in a single run
    images = [inp for inp in mine if inp.kind == 'image']
    videos = [inp for inp in mine if inp.kind == 'video']

    w = getattr(args, 'fidelity_weight', None)
    name = run_name(args.input_path)
    out_root = Path(args.output_path or os.path.join('results', f'{name}_{w}' if w is not None else name))
    writable_folder(out_root)
    report = Path(args.report) if args.report else None
    if report is not None:
        report = shard.report_path(report) if shard else report
        writable_file(report, 'report')
        no_input_replaced([inp.path for inp in inputs], [report], 'report')

    if args.ray is not None:  # the networks run in the actors; here only the checks (weights, layout)
        job = build_job(command, argparse.Namespace(**{**vars(args), 'device': 'cpu', 'batch_size': 1}))
    else:
        if args.batch_size is None:
            device = select_device(args.device)
            args.batch_size = auto_batch_size(device, inference_dtype(device, precision_of(args)))
        job = build_job(command, args)
    from codeformer.video_runner import output_path
    planned = [out_root / job.marker(inp.name).format(name=inp.name) if inp.kind == 'image'
               else output_path(out_root, inp.name) for inp in inputs]  # every shard's: all refuse alike
    no_input_replaced([inp.path for inp in inputs], planned)

    log = RunLog(out_root, passed_over, args.quiet, label=f'shard {shard}' if shard else '')
    code = EXIT_OK
    try:
        if args.ray is not None:
            from codeformer.cli.ray_runner import run_on_ray
            run_on_ray(log, job, command, args, images + videos, protected=[inp.path for inp in inputs],
                       single_video=len(inputs) == 1)
        else:
            run_local(log, job, args, images, videos, protected=[inp.path for inp in inputs],
                      single_video=len(inputs) == 1)
    except KeyboardInterrupt as exc:
        code = interruption_code(exc)
        say('stopped', 'interrupted; the results written so far are complete')
    return log.finish(report, code)


def run_local(log: RunLog, job, args: argparse.Namespace, images: list[InputFile], videos: list[InputFile],
              protected: list[Path], single_video: bool) -> None:
    """Images, then videos (a folder may hold both), through their loops into ``log``: what a local run does,
    and what each Ray actor does with its share."""
    from codeformer.cli.images import run_images
    if images:
        run_images(log, images, job, batch_size=args.batch_size, skip_existing=args.skip_existing,
                   max_pixels=args.max_pixels, protected=protected)
    if videos:
        from codeformer.cli.videos import run_videos, video_options
        run_videos(log, videos, job.enhancer, video_options(args, single_video, args.max_pixels),
                   skip_existing=args.skip_existing)


def build_job(command: str, args: argparse.Namespace):
    """The job for a front door, with every network it needs loaded (missing weights show here)."""
    from codeformer.cli.jobs import AlignedFacesJob, InpaintingJob, WholeImageJob
    from codeformer.enhancer import FaceEnhancer
    from codeformer.restorer import FaceRestorer

    task = {'restore': 'restoration', 'colorize': 'colorization', 'inpaint': 'inpainting'}[command]
    restorer = FaceRestorer(task, w=getattr(args, 'fidelity_weight', 0.5), model_path=args.model_path,
                            device=args.device, precision=precision_of(args), batch_size=args.batch_size,
                            progress=not args.quiet, backend=args.backend, onnx_path=args.onnx_path)
    if command == 'restore' and not args.has_aligned:
        enhancer = FaceEnhancer(restorer, upscale=args.upscale, detection_model=args.detection_model,
                                use_parse=not args.no_parse, bg_upsampler=args.bg_upsampler,
                                face_upsample=args.face_upsample, only_center_face=args.only_center_face,
                                min_eye_distance=args.min_eye_distance, draw_box=args.draw_box,
                                bg_tile=args.bg_tile, progress=not args.quiet)
        return WholeImageJob(enhancer.load(), args.suffix)
    if command == 'restore':
        return AlignedFacesJob(FaceEnhancer(restorer), 'restored_faces', args.suffix)
    if command == 'colorize':
        return AlignedFacesJob(FaceEnhancer(restorer, keep_gray=False), '', args.suffix)
    return InpaintingJob(restorer, args.suffix, args.mask, args.max_pixels)

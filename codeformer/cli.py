"""Entry points: ``codeformer [restore|colorize|inpaint|download] ...`` and the three inference scripts."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from codeformer.runner import EXIT_USAGE

COMMANDS = ('restore', 'colorize', 'inpaint', 'download')


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print('stopped (Ctrl-C); the results written so far are complete', file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else 'restore'
    if command == 'download':
        from codeformer.weight_zoo import main as download_main
        return download_main(argv, prog='codeformer download')
    from codeformer import options
    parser = {'restore': options.restore_parser, 'colorize': options.colorize_parser,
              'inpaint': options.inpaint_parser}[command](prog=f'codeformer {command}')
    args = parser.parse_args(argv)
    return run_faces(command, args)


def run_faces(command: str, args) -> int:
    """Shared body of the three front doors; errors that stop the whole run exit with code 2."""
    from codeformer import runner
    from codeformer.runtime import DeviceUnavailable, auto_batch_size, inference_dtype, select_device
    from codeformer.utils.checkpoint import CheckpointError
    from codeformer.utils.inputs import InputError, collect_inputs, run_name
    from codeformer.weight_zoo import WeightsUnavailable

    w = getattr(args, 'fidelity_weight', None)
    try:
        if args.batch_size is None:
            device = select_device(args.device)
            args.batch_size = auto_batch_size(device, inference_dtype(device, args.fp32))
        inputs = collect_inputs(args.input_path, kinds=('image', 'video') if command == 'restore' else ('image', ))
        videos = [inp for inp in inputs if inp.kind == 'video']
        if videos and getattr(args, 'has_aligned', False):
            if len(videos) == len(inputs):
                raise ValueError(f'{videos[0].path}: videos are restored as whole frames: leave out --has_aligned')
            inputs, videos = [inp for inp in inputs if inp.kind == 'image'], []  # aligned crops: videos passed over
        job = build_job(command, args)
    except (InputError, WeightsUnavailable, CheckpointError, DeviceUnavailable, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_USAGE
    name = run_name(args.input_path)
    out_root = Path(args.output_path or os.path.join('results', f'{name}_{w}' if w is not None else name))
    images = [inp for inp in inputs if inp.kind == 'image']
    report = Path(args.report) if args.report else None
    code = runner.EXIT_OK
    if images:
        code = runner.run(images, out_root, job, batch_size=args.batch_size, skip_existing=args.skip_existing,
                          quiet=args.quiet, report=report)
    if videos:  # a folder may hold both: images above, videos here; the exit code covers both
        from codeformer.video_runner import options_from_args, run_videos
        code = max(code, run_videos(videos, out_root, job.enhancer, options_from_args(args, len(inputs) == 1),
                                    skip_existing=args.skip_existing, quiet=args.quiet, report=report,
                                    merge_report=bool(images)))
    return code


def build_job(command: str, args):
    """The job for a front door, with every network it needs loaded (missing weights show here)."""
    from codeformer.enhancer import FaceEnhancer
    from codeformer.jobs import AlignedFacesJob, InpaintingJob, WholeImageJob
    from codeformer.restorer import FaceRestorer

    task = {'restore': 'restoration', 'colorize': 'colorization', 'inpaint': 'inpainting'}[command]
    restorer = FaceRestorer(task, w=getattr(args, 'fidelity_weight', 0.5), model_path=args.model_path,
                            device=args.device, fp32=args.fp32, batch_size=args.batch_size, progress=not args.quiet)
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
    return InpaintingJob(restorer, args.suffix, args.mask)


def entry(command: str) -> None:
    """For the top-level ``inference_*.py`` scripts."""
    sys.exit(main([command, *sys.argv[1:]]))


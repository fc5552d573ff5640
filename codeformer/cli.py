"""Entry points: ``codeformer [restore|colorize|inpaint|download] ...`` and the three inference scripts."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from codeformer.runner import EXIT_USAGE

COMMANDS = ('restore', 'colorize', 'inpaint', 'download')


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else 'restore'
    if command == 'download':
        from codeformer.weight_zoo import main as download_main
        return download_main(argv)
    from codeformer import options
    parser = {'restore': options.restore_parser, 'colorize': options.colorize_parser,
              'inpaint': options.inpaint_parser}[command](prog=f'codeformer {command}')
    args = parser.parse_args(argv)
    return run_faces(command, args)


def run_faces(command: str, args) -> int:
    """Shared body of the three front doors; errors that stop the whole run exit with code 2."""
    from codeformer import runner
    from codeformer.restorer import FaceRestorer
    from codeformer.runtime import DeviceUnavailable
    from codeformer.utils.checkpoint import CheckpointError
    from codeformer.utils.inputs import InputError, collect_inputs, run_name
    from codeformer.weight_zoo import WeightsUnavailable

    task = {'restore': 'restoration', 'colorize': 'colorization', 'inpaint': 'inpainting'}[command]
    w = getattr(args, 'fidelity_weight', None)
    try:
        inputs = collect_inputs(args.input_path, kinds=('image', ))
        if command == 'restore' and not args.has_aligned:
            raise InputError('whole-image restoration is not available yet: pass --has_aligned with aligned faces')
        restorer = FaceRestorer(task, w=w if w is not None else 0.5, model_path=args.model_path,
                                device=args.device, fp32=args.fp32, batch_size=args.batch_size,
                                progress=not args.quiet)
    except (InputError, WeightsUnavailable, CheckpointError, DeviceUnavailable, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_USAGE
    name = run_name(args.input_path)
    out_root = Path(args.output_path or os.path.join('results', f'{name}_{w}' if w is not None else name))
    job = _job(command, restorer, args)
    return runner.run(inputs, out_root, job, batch_size=args.batch_size, skip_existing=args.skip_existing,
                      quiet=args.quiet, report=Path(args.report) if args.report else None)


def _job(command: str, restorer, args):
    from codeformer.jobs import AlignedFacesJob
    if command == 'restore':
        return AlignedFacesJob(restorer, 'restored_faces', args.suffix)
    if command == 'colorize':
        return AlignedFacesJob(restorer, '', args.suffix, keep_gray=False)
    raise NotImplementedError(command)


def entry(command: str) -> None:
    """For the top-level ``inference_*.py`` scripts."""
    sys.exit(main([command, *sys.argv[1:]]))

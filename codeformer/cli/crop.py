"""The ``crop`` command (``scripts/crop_align_face.py``, ``scripts/prepare_data.py``): every face of every photo
aligned to the restorer's template and written as ``<name>_<k>.png``, with a JSON sidecar holding the matrix."""
from __future__ import annotations

from codeformer.batch.crops import run_crops
from codeformer.batch.exits import end_run, say
from codeformer.cli.arguments import crop_parser


def main(argv: list[str] | None = None, prog: str = 'crop_align_face.py', min_size: float = 0.0,
         sidecars: bool = True) -> int:
    args = crop_parser(prog, min_size, sidecars).parse_args(argv)
    outcome = run_crops(args.input_path, args.output_path, args.detection_model, args.device, args.size,
                        args.only_largest, args.min_size, args.sidecars, args.max_pixels, args.quiet, say=say)
    return end_run(outcome, args.quiet)

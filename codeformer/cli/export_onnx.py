"""The ``export-onnx`` command: CodeFormer as one ONNX file with a working ``weight`` input, checked in onnxruntime
against PyTorch right after it is written."""
from __future__ import annotations

import sys
from pathlib import Path

from codeformer.batch.checks import writable_file
from codeformer.cli.arguments import export_onnx_parser


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = export_onnx_parser(prog).parse_args(argv)
    writable_file(args.output, 'ONNX file')  # before the weights load and the export runs
    from codeformer.onnx_export import LICENCE_NOTE, check_onnx, export_onnx
    from codeformer.restorer import load_codeformer
    from codeformer.weight_zoo import resolve

    weights = resolve('codeformer', args.model_path, progress=not args.quiet)
    net = load_codeformer(weights)
    out = Path(args.output)
    print(f'exporting {weights} to {out} (opset {args.opset}{", fp16" if args.fp16 else ""}); {LICENCE_NOTE}',
          file=sys.stderr)
    export_onnx(net, out, opset=args.opset, fp16=args.fp16)
    if args.no_check:
        print(out)
        return 0
    check = check_onnx(out, net)
    print(check.line(), file=sys.stderr)
    tolerance = 5e-2 if args.fp16 else 1e-3
    if check.max_diff > tolerance:
        print(f'error: {out}: onnxruntime differs from PyTorch by {check.max_diff:.2e} (more than {tolerance:g})',
              file=sys.stderr)
        return 1
    print(out)
    return 0

"""The ``crop`` command (``scripts/crop_align_face.py``, ``scripts/prepare_data.py``): every face of every photo
aligned to the restorer's template and written as ``<name>_<k>.png``, with a JSON sidecar holding the matrix."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from codeformer.cli.arguments import check_detector, crop_parser
from codeformer.cli.checks import OutputGuard, writable_folder
from codeformer.cli.images import describe_failure
from codeformer.cli.log import EXIT_OK, RunLog, interruption_code, say
from codeformer.errors import CodeformerError
from codeformer.face_crops import crop_faces, sidecar
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS, read_image, write_bytes_atomic, write_image
from codeformer.utils.inputs import InputFile, scan_inputs


def crop_folder(log: RunLog, inputs: Sequence[InputFile], detector, size: int = 512, only_largest: bool = False,
                min_size: float = 0.0, write_sidecars: bool = True,
                max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Crop every photo of ``inputs`` into ``log.out_root``; a photo that fails is one error line, and the rest go
    on."""
    from tqdm import tqdm

    guard = OutputGuard([inp.path for inp in inputs])
    bar = tqdm(total=len(inputs), unit='img', disable=log.quiet, file=sys.stderr)
    try:
        for inp in inputs:
            rec = log.add(inp)
            try:
                crops = crop_faces(read_image(inp.path, max_pixels), detector, size, only_largest, min_size)
                for k, (crop, matrix, face) in enumerate(crops):
                    files = {log.out_root / f'{inp.name}_{k:02d}.png': crop}
                    if write_sidecars:
                        files[log.out_root / f'{inp.name}_{k:02d}.json'] = sidecar(inp.path, matrix, face, size)
                    for target, content in files.items():
                        refused = guard.claim(target)
                        if refused:
                            raise OSError(refused)
                        if isinstance(content, dict):
                            write_bytes_atomic(target, json.dumps(content, indent=1).encode())
                        else:
                            write_image(target, content)
                        rec.outputs.append(str(target))
                rec.info = {'faces': len(crops)}
            except CodeformerError as exc:  # the photo cannot be read
                log.fail(rec, describe_failure(inp.path, exc))
            except OSError as exc:  # a crop cannot be written
                where = f'{exc.strerror}: {exc.filename}' if exc.strerror and exc.filename else exc.strerror or exc
                log.fail(rec, f'{inp.path}: cannot write its crops ({where})')
            except Exception as exc:  # noqa: BLE001  (a bug shows its traceback; the rest go on)
                log.fail(rec, describe_failure(inp.path, exc))
            bar.update(1)
    finally:
        bar.close()


def main(argv: list[str] | None = None, prog: str = 'crop_align_face.py', min_size: float = 0.0,
         sidecars: bool = True) -> int:
    parser = crop_parser(prog, min_size, sidecars)
    args = parser.parse_args(argv)
    check_detector(parser, args.detection_model)
    from codeformer.detection import build_detector
    from codeformer.runtime import select_device

    scan = scan_inputs(args.input_path, kinds=('image', ))
    out = Path(args.output_path)
    writable_folder(out)
    detector = build_detector(args.detection_model, device=select_device(args.device), progress=not args.quiet)
    log = RunLog(out, scan.passed_over, args.quiet)
    code = EXIT_OK
    try:
        crop_folder(log, scan.files, detector, args.size, args.only_largest, args.min_size, args.sidecars,
                    args.max_pixels)
    except KeyboardInterrupt as exc:
        code = interruption_code(exc)
        say('stopped', 'interrupted; the crops written so far are complete')
    return log.finish(None, code)

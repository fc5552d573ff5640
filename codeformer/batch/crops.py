"""Crop and align every face of every photo (the ``crop`` command's work): each written as ``<name>_<k>.png`` beside a
JSON sidecar holding its matrix; a photo that fails costs only itself."""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from codeformer.batch.checks import OutputGuard, writable_folder
from codeformer.batch.images import describe_failure
from codeformer.batch.report import RunLog, RunOutcome
from codeformer.errors import CodeformerError
from codeformer.face_crops import crop_faces, sidecar
from codeformer.outputs import write_results
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS, read_image
from codeformer.utils.inputs import InputFile, scan_inputs


def run_crops(input_path: str, output_path: str, detection_model: str = 'mtcnn', device: str = 'auto',
              size: int = 512, only_largest: bool = False, min_size: float = 0.0, sidecars: bool = True,
              max_pixels: int | None = DEFAULT_MAX_PIXELS, quiet: bool = False,
              say: Callable[[str, str], None] | None = None) -> RunOutcome:
    """Crop the photos at ``input_path`` into ``output_path``; what it did (``say``: as for ``batch.run.run``)."""
    from codeformer.detection import build_detector, check_detector
    from codeformer.runtime import select_device

    check_detector(detection_model)
    scan = scan_inputs(input_path, kinds=('image', ))
    out = Path(output_path)
    writable_folder(out)
    detector = build_detector(detection_model, device=select_device(device), progress=not quiet)
    log = RunLog(out, scan.passed_over, quiet, say=say)
    try:
        crop_folder(log, scan.files, detector, size, only_largest, min_size, sidecars, max_pixels)
    except KeyboardInterrupt as exc:
        return log.finish(None, exc)
    return log.finish(None)


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
                    files = {f'{{name}}_{k:02d}.png': crop}
                    if write_sidecars:
                        files[f'{{name}}_{k:02d}.json'] = sidecar(inp.path, matrix, face, size)
                    written = write_results(log.out_root, inp.name, files, guard.claim)
                    rec.outputs += [str(p) for p in written]
                rec.info = {'faces': len(crops)}
                log.done(rec)
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

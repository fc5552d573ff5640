"""Crop and align every face of every photo (the ``crop`` command's work): each written as ``<name>_<k>.png`` beside a
JSON sidecar holding its matrix; a photo that fails costs only itself."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from codeformer.batch.checks import writable_folder
from codeformer.batch.images import run_images
from codeformer.batch.jobs import Result
from codeformer.batch.report import RunLog, RunOutcome
from codeformer.face_crops import crop_faces, sidecar
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS
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
        run_images(log, scan.files, CropJob(detector, size, only_largest, min_size, sidecars), batch_size=1,
                   max_pixels=max_pixels, protected=[inp.path for inp in scan.files])
    except KeyboardInterrupt as exc:
        return log.finish(None, exc)
    return log.finish(None)


class CropJob:
    """Every face of each photo aligned and cropped to ``size`` (``<name>_<k>.png``), with a JSON sidecar holding
    its matrix unless ``sidecars`` is off: a job of the image loop (``run_images``), which reads, guards, writes and
    records the photos as it does every command's."""
    batch_size = 1
    what = 'crops'

    def __init__(self, detector, size: int = 512, only_largest: bool = False, min_size: float = 0.0,
                 sidecars: bool = True):
        self.detector, self.size, self.only_largest, self.min_size = detector, size, only_largest, min_size
        self.sidecars = sidecars

    def marker(self, name: str) -> str:
        return '{name}_00.png'

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        return self.size, self.size

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result]:
        results = []
        for img, inp in zip(images, inputs):
            crops = crop_faces(img, self.detector, self.size, self.only_largest, self.min_size)
            files: dict = {}
            for k, (crop, matrix, face) in enumerate(crops):
                files[f'{{name}}_{k:02d}.png'] = crop
                if self.sidecars:
                    files[f'{{name}}_{k:02d}.json'] = sidecar(inp.path, matrix, face, self.size)
            results.append(Result(files, {'faces': len(crops)}))
        return results

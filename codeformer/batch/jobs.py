"""What each command does to one batch of decoded images, on top of the library (``FaceEnhancer``,
``inpaint_faces``, ``VQGANReconstructor``), and where its results go below the run's folder."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from codeformer.batch.checks import UsageError
from codeformer.batch.options import COMMANDS, RunOptions
from codeformer.enhancer import FaceEnhancer
from codeformer.hooks import NO_HOOKS, WorkHooks
from codeformer.inpainting import inpaint_faces
from codeformer.reconstruction import VQGANReconstructor
from codeformer.restorer import FaceRestorer
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS, ImageReadError, file_kind, read_image, split_channels
from codeformer.utils.inputs import InputFile


@dataclass
class Result:
    outputs: dict[str, np.ndarray]  # relative path with '{name}' -> image
    info: dict = field(default_factory=dict)  # goes into the report (faces found, ...)


class Job(Protocol):
    """What one command does with decoded images."""

    batch_size: int  # images per call of ``process`` (the restorer's own choice for its device, or as asked)

    def marker(self, name: str) -> str:
        """Relative path (with '{name}') of the output whose presence means ``name`` is done (``skip_existing``);
        also the output checked against the inputs before a run."""

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the largest output for an input of that size (checked against ``max_pixels``)."""

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result | Exception]:
        """One result (or the exception that stopped it) per image, in order."""


def _tail(suffix: str | None) -> str:
    return f'_{suffix}' if suffix else ''


class AlignedFacesJob:
    """Aligned 512x512 faces (others are resized) through the network, one output each.

    ``folder``: where results go below the run's root (``restored_faces`` for restoration, as the
    official script does; ``''`` for colorization and inpainting).
    """

    def __init__(self, enhancer: FaceEnhancer, folder: str = 'restored_faces', suffix: str | None = None):
        self.enhancer = enhancer
        self.rel = f'{folder}/{{name}}{_tail(suffix)}.png'.lstrip('/')

    @property
    def batch_size(self) -> int:
        return self.enhancer.restorer.batch_size

    def marker(self, name: str) -> str:
        return self.rel

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        size = self.enhancer.restorer.size
        return size, size

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result]:
        results = self.enhancer.enhance_batch(images, has_aligned=True)
        return [Result({self.rel: r.restored_faces[0]}, {'faces': 1, 'seconds': r.seconds}) for r in results]


class WholeImageJob:
    """Whole photos: the official layout of cropped_faces/, restored_faces/ and final_results/."""

    def __init__(self, enhancer: FaceEnhancer, suffix: str | None = None, save_faces: bool = True,
                 w: float | None = None, hooks: WorkHooks = NO_HOOKS):
        """``w``: the fidelity weight of this work (None: the restorer's own); ``hooks``: the front end's stop
        check and progress."""
        self.enhancer = enhancer
        self.tail = _tail(suffix)
        self.save_faces = save_faces
        self.w, self.hooks = w, hooks

    @property
    def batch_size(self) -> int:
        return self.enhancer.restorer.batch_size

    def marker(self, name: str) -> str:
        return f'final_results/{{name}}{self.tail}.png'

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        return self.enhancer.output_size(height, width)

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result]:
        hooks = self.hooks
        hooks.checkpoint()

        def progress(faces: int, found: int) -> None:
            hooks.on_progress(len(images), faces, found)

        done = self.enhancer.enhance_batch(images, w=self.w, on_progress=progress)
        results = [Result(r.official_files(self.tail, self.save_faces),
                          {'faces': len(r.faces), 'detections': r.faces, 'seconds': r.seconds}) for r in done]
        hooks.on_batch(len(images), sum(len(r.faces) for r in done))
        return results


class InpaintingJob:
    """Faces whose damaged regions are painted pure white (or given by ``mask_path``): the network fills them in
    (``codeformer.inpainting``)."""

    def __init__(self, restorer: FaceRestorer, suffix: str | None = None, mask_path: str | None = None,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS):
        self.restorer = restorer
        self.rel = f'{{name}}{_tail(suffix)}.png'
        self.mask_path = Path(mask_path) if mask_path else None
        self.max_pixels = max_pixels
        if self.mask_path is not None and not self.mask_path.exists():
            raise UsageError(f'{self.mask_path}: no such mask file or folder', 'mask', str(self.mask_path))

    @property
    def batch_size(self) -> int:
        return self.restorer.batch_size

    def marker(self, name: str) -> str:
        return self.rel

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        return self.restorer.size, self.restorer.size

    def _given_mask(self, inp: InputFile) -> np.ndarray | None:
        if self.mask_path is None:
            return None
        path = self.mask_path
        if path.is_dir():
            found = [p for p in sorted(path.iterdir()) if p.stem == inp.path.stem and file_kind(p) == 'image']
            if not found:
                raise ImageReadError(f'no mask named {inp.path.stem}.* in {path}')
            path = found[0]
        mask = read_image(path, self.max_pixels)
        mask = mask if mask.ndim == 2 else mask[:, :, :3].max(axis=2)
        return mask > (32767 if mask.dtype == np.uint16 else 127)

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result]:
        faces = [split_channels(img)[0] for img in images]
        done = inpaint_faces(self.restorer, faces, [self._given_mask(inp) for inp in inputs])
        return [Result({self.rel: r.image}, {'faces': 1, 'inpainted_pixels': int(r.mask.sum())}) for r in done]


class VQGANJob:
    """Faces reconstructed through a stage-I VQGAN (``codeformer.reconstruction``)."""

    def __init__(self, reconstructor: VQGANReconstructor, suffix: str | None = None, batch_size: int = 4):
        self.reconstructor = reconstructor
        self.batch_size = batch_size
        self.rel = f'{{name}}{_tail(suffix)}.png'

    def marker(self, name: str) -> str:
        return self.rel

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        return self.reconstructor.size, self.reconstructor.size

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result]:
        faces = self.reconstructor.reconstruct([split_channels(img)[0] for img in images])
        return [Result({self.rel: face}, {'faces': 1}) for face in faces]


def build_job(options: RunOptions) -> Job:
    """The job for a command, with every network it needs loaded (missing weights show here)."""
    if options.command not in COMMANDS:
        raise UsageError(f'unknown command {options.command!r}; choose from {", ".join(COMMANDS)}')
    net, pipe, suffix = options.network, options.pipeline, options.output.suffix
    w = 0.5 if net.w is None else net.w  # 0 is a weight, not "not given"
    restorer = FaceRestorer(COMMANDS[options.command], w=w, model_path=net.model_path, device=net.device,
                            precision=net.precision, batch_size=net.batch_size, progress=not options.quiet,
                            backend=net.backend, onnx_path=net.onnx_path, compile=net.compile)
    if options.whole_photos:
        enhancer = FaceEnhancer(restorer, upscale=pipe.upscale, detection_model=pipe.detector, use_parse=pipe.parse,
                                bg_upsampler=pipe.bg_upsampler, face_upsample=pipe.face_upsample,
                                only_center_face=pipe.only_center_face, min_eye_distance=pipe.min_eye_distance,
                                draw_box=pipe.draw_box, bg_tile=pipe.bg_tile, progress=not options.quiet)
        return WholeImageJob(enhancer.load(), suffix)
    if options.command == 'restore':
        return AlignedFacesJob(FaceEnhancer(restorer), 'restored_faces', suffix)
    if options.command == 'colorize':
        return AlignedFacesJob(FaceEnhancer(restorer, keep_gray=False), '', suffix)
    return InpaintingJob(restorer, suffix, pipe.mask, options.output.max_pixels)

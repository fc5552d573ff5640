"""What each front door does to one batch of decoded images, on top of ``FaceEnhancer``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch

from codeformer.cli.checks import UsageError
from codeformer.enhancer import FaceEnhancer
from codeformer.restorer import FaceRestorer, faces_to_tensor, tensor_to_faces
from codeformer.utils.image_io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    file_kind,
    max_value,
    read_image,
    split_channels,
)
from codeformer.utils.inputs import InputFile


@dataclass
class Result:
    outputs: dict[str, np.ndarray]  # relative path with '{name}' -> image
    info: dict = field(default_factory=dict)  # goes into the report (faces found, ...)


class Job(Protocol):
    """What one front door does with decoded images."""

    def marker(self, name: str) -> str:
        """Relative path (with '{name}') of the output whose presence means ``name`` is done (--skip_existing);
        also the output checked against the inputs before a run."""

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the largest output for an input of that size (checked against --max_pixels)."""

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

    def __init__(self, enhancer: FaceEnhancer, suffix: str | None = None, save_faces: bool = True):
        self.enhancer = enhancer
        self.tail = _tail(suffix)
        self.save_faces = save_faces

    def marker(self, name: str) -> str:
        return f'final_results/{{name}}{self.tail}.png'

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        return self.enhancer.output_size(height, width)

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result]:
        results = []
        for r in self.enhancer.enhance_batch(images):
            outputs = {}
            if self.save_faces:
                for i, (crop, face) in enumerate(zip(r.cropped_faces, r.restored_faces)):
                    outputs[f'cropped_faces/{{name}}_{i:02d}.png'] = crop
                    outputs[f'restored_faces/{{name}}_{i:02d}{self.tail}.png'] = face
            outputs[self.marker('')] = r.restored_img
            results.append(Result(outputs, {'faces': len(r.faces), 'detections': r.faces, 'seconds': r.seconds}))
        return results


class InpaintingJob:
    """Faces whose damaged regions are painted pure white (or given by ``--mask``): the network fills
    them in and every other pixel of the (network-sized) input is kept exactly."""

    def __init__(self, restorer: FaceRestorer, suffix: str | None = None, mask_path: str | None = None,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS):
        self.restorer = restorer
        self.rel = f'{{name}}{_tail(suffix)}.png'
        self.mask_path = Path(mask_path) if mask_path else None
        self.max_pixels = max_pixels
        if self.mask_path is not None and not self.mask_path.exists():
            raise UsageError(f'{self.mask_path}: no such mask file or folder')

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
        size = self.restorer.size
        faces, masks = [], []
        for img, inp in zip(images, inputs):
            bgr, _ = split_channels(img)
            top = max_value(bgr.dtype)
            given = self._given_mask(inp)
            mask = (bgr == top).all(axis=2) if given is None else given
            if mask.shape != bgr.shape[:2]:
                raise ImageReadError(f'{inp.path}: the mask is {mask.shape[1]}x{mask.shape[0]}, the image '
                                     f'{bgr.shape[1]}x{bgr.shape[0]}')
            if bgr.shape[:2] != (size, size):
                bgr = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_LINEAR)
                mask = cv2.resize(mask.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
            bgr = bgr.copy()
            bgr[mask] = top  # the network was trained on regions painted pure white
            faces.append(bgr)
            masks.append(mask)
        restored = self.restorer.restore_faces(faces)
        results = []
        for face, mask, out in zip(faces, masks, restored):
            results.append(Result({self.rel: np.where(mask[:, :, None], out, face)},
                                  {'faces': 1, 'inpainted_pixels': int(mask.sum())}))
        return results


class VQGANJob:
    """Faces reconstructed through a stage-I VQGAN (encode, quantize, decode): how much a codebook keeps."""

    def __init__(self, model_path: str, size: int = 512, device: str = 'auto', suffix: str | None = None):
        from codeformer.archs import VQAutoEncoder
        from codeformer.runtime import prepare_for_inference, select_device
        from codeformer.utils.checkpoint import load_network_weights, read_state_dict
        state = read_state_dict(model_path)
        if 'quantize.embedding.weight' not in state or 'encoder.blocks.0.weight' not in state:
            raise UsageError(f'{model_path}: not a VQGAN checkpoint')
        codebook, emb_dim = state['quantize.embedding.weight'].shape
        nf = state['encoder.blocks.0.weight'].shape[0]
        net = VQAutoEncoder(size, nf, codebook_size=codebook, emb_dim=emb_dim, attn_resolutions=(size // 32, ))
        load_network_weights(net, model_path)
        self.device = select_device(device)
        self.net = prepare_for_inference(net, self.device)
        self.size = size
        self.rel = f'{{name}}{_tail(suffix)}.png'

    def marker(self, name: str) -> str:
        return self.rel

    def result_size(self, height: int, width: int) -> tuple[int, int]:
        return self.size, self.size

    def process(self, images: list[np.ndarray], inputs: list[InputFile]) -> list[Result]:
        faces = [split_channels(img)[0] for img in images]
        with torch.inference_mode():
            out = self.net(faces_to_tensor(faces, self.size, self.device))[0]
        return [Result({self.rel: r}, {'faces': 1}) for r in tensor_to_faces(out, [f.dtype for f in faces])]

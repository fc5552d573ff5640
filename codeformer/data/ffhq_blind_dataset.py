"""Training faces for every CodeFormer stage: clean image plus synthetic corrupted input(s).

One folder of aligned faces (or an lmdb made by basicsr's ``create_lmdb`` tools, whose ``meta_info.txt``
lists the keys) serves all stages; the options pick what the input is: nothing (stage I reads only
``gt``), degradation at one level (stage II, colorization with colour jitter and grey), both levels
(stage III, :class:`FFHQBlindJointDataset`), or white brush strokes (inpainting).
"""
from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np
import torch
from basicsr.utils import FileClient, imfrombytes, img2tensor
from basicsr.utils.registry import DATASET_REGISTRY
from torch.utils import data
from torchvision.transforms.functional import normalize

from codeformer.data.degradations import (
    LARGE,
    DegradationRanges,
    brush_stroke_mask,
    color_jitter_pt,
    color_shift,
    degrade,
    to_gray,
)

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff')


def list_images(root: str, backend: str) -> tuple[list[str], list[str]]:
    """(paths or lmdb keys, names) of the training faces, sorted; a name is the file stem / lmdb key."""
    if backend == 'lmdb':
        meta = Path(root) / 'meta_info.txt'
        if not meta.is_file():
            raise FileNotFoundError(f'{root}: an lmdb dataset needs meta_info.txt listing its keys')
        keys = sorted(line.split()[0].rsplit('.', 1)[0] for line in meta.read_text().splitlines() if line.strip())
        return keys, keys
    if not os.path.isdir(root):
        raise FileNotFoundError(f'dataroot_gt {root!r} is not a folder')
    files = sorted(f for f in os.listdir(root) if f.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise FileNotFoundError(f'dataroot_gt {root!r} holds no images ({", ".join(IMAGE_SUFFIXES)})')
    return [os.path.join(root, f) for f in files], [os.path.splitext(f)[0] for f in files]


def load_latent_gt(path: str) -> dict[str, dict[str, torch.Tensor]]:
    """The precomputed code indices {'orig': {name: idx}, 'hflip': {name: idx}} (scripts/generate_latent_gt.py)."""
    table = torch.load(path, map_location='cpu', weights_only=True)
    if not isinstance(table, Mapping) or 'orig' not in table or 'hflip' not in table:
        raise ValueError(f"{path}: expected {{'orig': {{name: indices}}, 'hflip': {{name: indices}}}}")
    return table


@DATASET_REGISTRY.register()
class FFHQBlindDataset(data.Dataset):
    """Aligned faces with a synthetic corrupted input.

    Options (beside basicsr's ``name``/``type``/``phase``/loader keys): ``dataroot_gt``, ``io_backend``
    ({type: disk} or {type: lmdb}), ``out_size`` (faces of another size are resized), ``mean``/``std``,
    ``use_hflip``, ``degrade`` (False: no input is made, stage I), the degradation ranges ``blur_sigma``,
    ``downsample_range``, ``noise_range``, ``jpeg_range`` with ``blur_kernel_size``, ``kernel_list``,
    ``kernel_prob``; ``color_jitter_prob``/``color_jitter_shift``, ``color_jitter_pt_prob`` with
    ``brightness``/``contrast``/``saturation``/``hue``, ``gray_prob``; ``brush_stroke`` (dict of
    :func:`brush_stroke_mask` arguments: input = clean face with white strokes); ``latent_gt_path``.

    Items: ``gt`` and ``lq`` in [-1, 1] (C, H, W), ``gt_path``/``lq_path``, ``name``, ``hflip`` and, with a
    latent file, ``latent_gt`` (the code indices of the returned, possibly flipped, face).
    """

    def __init__(self, opt: Mapping):
        super().__init__()
        self.opt = opt
        self.io_backend_opt = dict(opt.get('io_backend') or {'type': 'disk'})
        self.backend = self.io_backend_opt.pop('type', 'disk')
        self.gt_folder = str(opt['dataroot_gt'])
        if self.backend == 'lmdb':
            self.io_backend_opt.update(db_paths=[self.gt_folder], client_keys=['gt'])
        self.file_client: FileClient | None = None
        self.paths, self.names = list_images(self.gt_folder, self.backend)
        self.out_size = int(opt.get('out_size', 512))
        self.mean = list(opt.get('mean', [0.5, 0.5, 0.5]))
        self.std = list(opt.get('std', [0.5, 0.5, 0.5]))
        self.use_hflip = bool(opt.get('use_hflip', True))
        self.degrade_input = bool(opt.get('degrade', True))
        self.ranges = DegradationRanges.from_opt(opt)
        self.color_jitter_prob = float(opt.get('color_jitter_prob') or 0)
        self.color_jitter_shift = float(opt.get('color_jitter_shift', 20))
        self.color_jitter_pt_prob = float(opt.get('color_jitter_pt_prob') or 0)
        self.jitter_ranges = tuple(tuple(opt.get(k, d)) for k, d in (
            ('brightness', (0.5, 1.5)), ('contrast', (0.5, 1.5)), ('saturation', (0.0, 1.5)), ('hue', (-0.1, 0.1))))
        self.gray_prob = float(opt.get('gray_prob') or 0)
        self.brush_stroke = opt.get('brush_stroke') or None
        self.latent_gt = load_latent_gt(opt['latent_gt_path']) if opt.get('latent_gt_path') else None
        if self.latent_gt is not None:
            absent = [n for n in self.names if n not in self.latent_gt['orig']]
            if absent:
                raise KeyError(f"{opt['latent_gt_path']}: no codes for {len(absent)} training faces "
                               f'(e.g. {absent[0]!r}); regenerate it with scripts/generate_latent_gt.py')

    @property
    def corrupts(self) -> bool:
        """Whether the input differs from the clean face at all (not in stage I)."""
        return bool(self.degrade_input or self.brush_stroke is not None or self.color_jitter_prob
                    or self.color_jitter_pt_prob or self.gray_prob)

    def __len__(self) -> int:
        return len(self.paths)

    def read_gt(self, index: int) -> np.ndarray:
        """The clean face, BGR float32 in [0, 1], resized to ``out_size`` when it has another size."""
        if self.file_client is None:  # opened lazily: an lmdb handle must not cross into worker processes
            self.file_client = FileClient(self.backend, **self.io_backend_opt)
        content = self.file_client.get(self.paths[index], 'gt')
        if content is None:
            raise FileNotFoundError(f'{self.gt_folder}: no entry {self.paths[index]!r}')
        img = imfrombytes(content, float32=True)
        if img.shape[:2] != (self.out_size, self.out_size):
            interp = cv2.INTER_AREA if img.shape[0] > self.out_size else cv2.INTER_LINEAR
            img = cv2.resize(img, (self.out_size, self.out_size), interpolation=interp)
        return img

    def corrupt(self, img: np.ndarray, ranges: DegradationRanges) -> torch.Tensor:
        """The network input made from the clean face ``img``, normalised RGB tensor."""
        lq = img
        if self.brush_stroke is not None:
            lq = img.copy()
            lq[brush_stroke_mask(*img.shape[:2], **self.brush_stroke)] = 1.0
        elif self.degrade_input:
            lq = degrade(img, ranges)
        if self.color_jitter_prob and np.random.uniform() < self.color_jitter_prob:
            lq = color_shift(lq, self.color_jitter_shift)
        if self.gray_prob and np.random.uniform() < self.gray_prob:
            lq = to_gray(lq)
        tensor = img2tensor(np.ascontiguousarray(lq), bgr2rgb=True, float32=True)
        if self.color_jitter_pt_prob and np.random.uniform() < self.color_jitter_pt_prob:
            tensor = color_jitter_pt(tensor, *self.jitter_ranges)
        tensor = torch.clamp((tensor * 255.0).round(), 0, 255) / 255.0
        return normalize(tensor, self.mean, self.std)

    def _base_item(self, index: int) -> tuple[dict, np.ndarray]:
        img = self.read_gt(index)
        flipped = self.use_hflip and random.random() < 0.5
        if flipped:
            img = np.ascontiguousarray(img[:, ::-1])
        name = self.names[index]
        path = self.paths[index]
        item = {
            'gt': normalize(img2tensor(img, bgr2rgb=True, float32=True), self.mean, self.std),
            'gt_path': path, 'lq_path': path, 'name': name, 'hflip': flipped,
        }
        if self.latent_gt is not None:
            item['latent_gt'] = self.latent_gt['hflip' if flipped else 'orig'][name].reshape(-1).long()
        return item, img

    def __getitem__(self, index: int) -> dict:
        item, img = self._base_item(index)
        if self.corrupts:
            item['lq'] = self.corrupt(img, self.ranges)
        else:
            item['lq'] = item['gt'].clone()
        return item


@DATASET_REGISTRY.register()
class FFHQBlindJointDataset(FFHQBlindDataset):
    """Stage III: each face with a small (``lq_small``) and a large (``lq_large``) degradation.

    The small level reads the usual range keys, the large one the same keys with a ``_large`` suffix
    (``blur_sigma_large``, ``downsample_range_large``, ``noise_range_large``, ``jpeg_range_large``);
    absent ones take the published large ranges.
    """

    def __init__(self, opt: Mapping):
        super().__init__(opt)
        self.ranges_large = DegradationRanges.from_opt(opt, suffix='_large', base=LARGE)

    def __getitem__(self, index: int) -> dict:
        item, img = self._base_item(index)
        item['lq_small'] = self.corrupt(img, self.ranges)
        item['lq_large'] = self.corrupt(img, self.ranges_large)
        return item

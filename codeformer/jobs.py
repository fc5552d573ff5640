"""What each front door does to one batch of decoded images, on top of ``FaceEnhancer``."""
from __future__ import annotations

import numpy as np

from codeformer.enhancer import FaceEnhancer
from codeformer.runner import Result


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

    def process(self, images: list[np.ndarray]) -> list[Result]:
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

    def process(self, images: list[np.ndarray]) -> list[Result]:
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

"""What each front door does to one batch of decoded images, on top of ``FaceRestorer``."""
from __future__ import annotations

import numpy as np

from codeformer.restorer import FaceRestorer
from codeformer.runner import Result
from codeformer.utils.image_io import is_gray, join_channels, split_channels


class AlignedFacesJob:
    """Aligned 512x512 faces (others are resized) through the network; gray stays gray, alpha is kept.

    ``folder`` is where results go below the run's root: ``restored_faces`` for restoration
    (the official layout), ``''`` for colorization.
    """

    def __init__(self, restorer: FaceRestorer, folder: str = 'restored_faces', suffix: str | None = None,
                 keep_gray: bool = True):
        self.restorer = restorer
        self.rel = f'{folder}/{{name}}{"_" + suffix if suffix else ""}.png'.lstrip('/')
        self.keep_gray = keep_gray

    def marker(self, name: str) -> str:
        return self.rel

    def process(self, images: list[np.ndarray]) -> list[Result | Exception]:
        split = [split_channels(img) for img in images]
        restored = self.restorer.restore_faces([bgr for bgr, _ in split])
        results: list[Result | Exception] = []
        for img, (_, alpha), out in zip(images, split, restored):
            gray = self.keep_gray and is_gray(img)
            results.append(Result({self.rel: join_channels(out, alpha, gray, img.ndim == 2)}, {'faces': 1}))
        return results

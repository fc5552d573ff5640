"""A detector from outside the package, as a user's own module adds one: importing this module registers it
(``CODEFORMER_PLUGINS=tests.support.plugin_detector``). It finds one face, the square in the middle of the photo, with
the five landmarks of the alignment template fitted into that square."""
from __future__ import annotations

import numpy as np

from codeformer.alignment import template
from codeformer.detection import DetectedFace, register

NAME = 'stand_in_centre'
HELP = 'a stand-in from a test module: one face, the square in the middle of the photo'


class CentreSquare:
    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        h, w = bgr.shape[:2]
        side = min(h, w) / 2
        x0, y0 = (w - side) / 2, (h - side) / 2
        points = template(512) * (side / 512) + (x0, y0)
        return [DetectedFace(np.array([x0, y0, x0 + side, y0 + side]), 0.99, points)]


register(NAME, lambda **_: CentreSquare(), help=HELP)

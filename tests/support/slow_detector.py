"""A detector that stands for a long network step with no check inside (a big group photo on a slow CPU, where one
step took over 30 s): on a photo wider than ``WIDE`` px it first waits ``SLOW_S`` seconds, touching the file named by
``$CODEFORMER_SLOW_MARK`` when it begins; otherwise it is ``plugin_detector``'s one face in the middle. Registered by
importing this module (``CODEFORMER_PLUGINS=tests.support.slow_detector``)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from codeformer.detection import DetectedFace, register
from tests.support.plugin_detector import CentreSquare

NAME = 'stand_in_slow'
WIDE = 1500
SLOW_S = 60


class SlowOnWide(CentreSquare):
    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        if bgr.shape[1] > WIDE:
            if os.environ.get('CODEFORMER_SLOW_MARK'):
                Path(os.environ['CODEFORMER_SLOW_MARK']).touch()
            time.sleep(SLOW_S)
        return super().detect(bgr)


register(NAME, lambda **_: SlowOnWide(), help='a stand-in from a test module: a long step on a wide photo')

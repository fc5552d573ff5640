"""dlib's face detectors with dlib's 5-point shape predictor, as the official CodeFormer offers (``--detection_model
dlib``), aligned with the official dlib template.

The model files are the official ones: the ``face_recognition_models`` package on PyPI ships exactly
``mmod_human_face_detector.dat`` and ``shape_predictor_5_face_landmarks.dat`` (same sha256 as the CodeFormer release
files), so they are taken from there when it is installed (found without importing it: its ``__init__`` needs
``pkg_resources``), else from the weight zoo (``dlib_mmod``, ``dlib_5_landmarks``).

dlib's five points are not RetinaFace's: they are the outer and inner corner of each eye and the base of the nose, so
faces found here carry the layout ``dlib5`` and are aligned to the official dlib template (``alignment.DLIB_5``).
As in the official pipeline, dlib is given the image in OpenCV's channel order (BGR), although dlib expects RGB:
that is what the official results come from (measured on real photos, RGB moves boxes by 6-31 px). ``rgb=True``
gives dlib the order it expects.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from codeformer.alignment import DLIB_5
from codeformer.detection.common import DetectedFace, as_bgr, local_weights, sort_faces
from codeformer.errors import import_optional

FILES = {'dlib_mmod': 'mmod_human_face_detector.dat', 'dlib_5_landmarks': 'shape_predictor_5_face_landmarks.dat'}

def model_file(key: str, weights_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """``face_recognition_models``' copy of an official dlib file when installed, else the weight zoo's."""
    spec = importlib.util.find_spec('face_recognition_models')
    if spec is not None and spec.submodule_search_locations:
        shipped = Path(next(iter(spec.submodule_search_locations))) / 'models' / FILES[key]
        if shipped.is_file():
            return shipped
    return local_weights(key, weights_dir, progress)


class DlibDetector:
    """dlib's MMOD CNN detector (or its HOG detector with ``hog=True``) + the 5-point predictor.

    ``upsample`` doubles the image that many times before detecting. The default, 1, is what the official helper
    does: measured here (benchmarks/bench_detectors.py) MMOD then finds 32 of 36 faces under 64 px, against 1 of 36
    without upsampling, at about 4-6x the time (9 s instead of 1.5-2.5 s for a 512 px photo on one core).
    ``score`` is the detector's margin (about 1 for a clear face, 0 at the threshold), not a probability.
    ``rgb``: give dlib RGB instead of the official's BGR (see the module's docstring).
    """

    def __init__(self, weights_dir: str | os.PathLike | None = None, progress: bool = True, upsample: int = 1,
                 hog: bool = False, rgb: bool = False) -> None:
        dlib = import_optional('dlib', 'pip install dlib-bin face_recognition_models', 'detection_model', 'dlib')

        self.name = 'dlib_hog' if hog else 'dlib'
        self.upsample = upsample
        self.rgb = rgb
        self._hog = dlib.get_frontal_face_detector() if hog else None
        self._mmod = None if hog else dlib.cnn_face_detection_model_v1(os.fspath(model_file('dlib_mmod', weights_dir,
                                                                                                  progress)))
        self._shape = dlib.shape_predictor(os.fspath(model_file('dlib_5_landmarks', weights_dir, progress)))

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in a uint8 BGR image (gray and RGBA are accepted too), highest score first."""
        img = self._channels(bgr)
        if self._hog is not None:
            rects, scores, _ = self._hog.run(img, self.upsample, 0.0)
        else:
            found = self._mmod(img, self.upsample)
            rects, scores = [d.rect for d in found], [d.confidence for d in found]
        faces = []
        for rect, score in zip(rects, scores):
            points = np.array([(p.x, p.y) for p in self._shape(img, rect).parts()], dtype=np.float64)
            box = (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
            faces.append(DetectedFace(np.array(box, dtype=np.float64), score, points, layout=DLIB_5.name))
        return sort_faces(faces)

    def _channels(self, bgr: np.ndarray) -> np.ndarray:
        bgr = as_bgr(bgr)
        return np.ascontiguousarray(bgr[:, :, ::-1]) if self.rgb else np.ascontiguousarray(bgr)

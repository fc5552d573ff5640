"""dlib's face detectors with dlib's 5-point shape predictor, as the official CodeFormer offers (``--detection_model
dlib``), with the points carried over to the RetinaFace layout.

The model files are the official ones: the ``face_recognition_models`` package on PyPI ships exactly
``mmod_human_face_detector.dat`` and ``shape_predictor_5_face_landmarks.dat`` (same sha256 as the CodeFormer release
files), so they are taken from there when it is installed (found without importing it: its ``__init__`` needs
``pkg_resources``), else from the weight zoo (``dlib_mmod``, ``dlib_5_landmarks``).

dlib's five points are not RetinaFace's: they are the outer and inner corner of each eye and the base of the nose.
``to_retinaface_points`` maps them through a fixed template measured on real faces (``benchmarks/bench_detectors.py
--fit-dlib``, see ``DLIB5_FRAME``).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np

from codeformer.detection.common import DetectedFace, apply_affine, as_bgr, fit_similarity, local_weights, sort_faces

FILES = {'dlib_mmod': 'mmod_human_face_detector.dat', 'dlib_5_landmarks': 'shape_predictor_5_face_landmarks.dat'}

# The mean face in one frame (eye centres at (-0.5, 0) and (0.5, 0)): dlib's five points (rows in dlib's order:
# image-right eye outer and inner corner, image-left eye outer and inner corner, nose base) and RetinaFace's five.
# Measured by ``benchmarks/bench_detectors.py --fit-dlib`` on 236 real faces (the 118 that MMOD finds among the LFW
# faces and portraits of that benchmark, and their mirror images) against points from dlib's 68-point predictor:
# 5-fold cross-validated error 0.095 of the interocular distance (eyes 0.05, nose 0.11, mouth corners 0.13; MTCNN's
# own points: 0.067 on the same faces), 8.0 px mean displacement in the 512 x 512 aligned crop (MTCNN: 6.7 px).
# An affine carry-over (6 parameters) fitted eyes and nose better but the mouth worse: 0.100 and 9.0 px overall.
DLIB5_FRAME = np.array([[0.6789, 0.0158], [0.2978, 0.0291], [-0.6815, 0.0163], [-0.2979, 0.0279], [0.0003, 0.7504]])
RETINA5_IN_DLIB_FRAME = np.array([[-0.5, 0.0], [0.5, 0.0], [0.0, 0.5399], [-0.4519, 1.0530], [0.4519, 1.0530]])


def to_retinaface_points(dlib5: np.ndarray) -> np.ndarray:
    """dlib's five points (5, 2) -> left eye, right eye, nose tip, left and right mouth corner (image left/right).

    The least-squares similarity from ``DLIB5_FRAME`` onto the face's dlib points carries the fitted RetinaFace points
    over, which amounts to aligning dlib faces with their own template, as the official CodeFormer does.
    """
    return apply_affine(fit_similarity(DLIB5_FRAME, dlib5), RETINA5_IN_DLIB_FRAME)


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
    """

    def __init__(self, weights_dir: str | os.PathLike | None = None, progress: bool = True, upsample: int = 1,
                 hog: bool = False) -> None:
        import dlib

        self.name = 'dlib_hog' if hog else 'dlib'
        self.upsample = upsample
        self._hog = dlib.get_frontal_face_detector() if hog else None
        self._mmod = None if hog else dlib.cnn_face_detection_model_v1(os.fspath(model_file('dlib_mmod', weights_dir,
                                                                                                  progress)))
        self._shape = dlib.shape_predictor(os.fspath(model_file('dlib_5_landmarks', weights_dir, progress)))

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        """Faces in a uint8 BGR image (gray and RGBA are accepted too), highest score first."""
        rgb = np.ascontiguousarray(as_bgr(bgr)[:, :, ::-1])
        if self._hog is not None:
            rects, scores, _ = self._hog.run(rgb, self.upsample, 0.0)
        else:
            found = self._mmod(rgb, self.upsample)
            rects, scores = [d.rect for d in found], [d.confidence for d in found]
        faces = []
        for rect, score in zip(rects, scores):
            points = np.array([(p.x, p.y) for p in self._shape(rgb, rect).parts()], dtype=np.float64)
            box = (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
            faces.append(DetectedFace(np.array(box, dtype=np.float64), score, to_retinaface_points(points)))
        return sort_faces(faces)

    def raw_points(self, bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
        """dlib's own five points for a face box (x1, y1, x2, y2), for measuring the conversion."""
        import dlib

        rgb = np.ascontiguousarray(as_bgr(bgr)[:, :, ::-1])
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        parts = self._shape(rgb, dlib.rectangle(x1, y1, x2 - 1, y2 - 1)).parts()
        return np.array([(p.x, p.y) for p in parts], dtype=np.float64)

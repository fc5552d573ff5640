"""Face detectors for whole-image restoration: each returns boxes, scores and five landmarks.

``build_detector(name)`` makes one of ``DETECTORS`` (a ``codeformer.registry.Registry``: ``register`` adds one);
every detector has ``detect(bgr) -> list[DetectedFace]``, faces sorted by score, high first, points in their layout's
order (RetinaFace's: image-left eye first). One module per detector family: ``retinaface`` (facexlib, weights from
the weight zoo), ``dlib_mmod`` (dlib, the official files), ``mtcnn`` (our network code, weights shipped in the
facenet-pytorch wheel: nothing to download).
"""
from __future__ import annotations

import os
from collections.abc import Callable

import torch

from codeformer.alignment import DLIB_5, RETINAFACE_5
from codeformer.detection.common import DetectedFace, Detector, as_bgr, fit_similarity
from codeformer.registry import Entry, Registry

__all__ = ['DETECTORS', 'DetectedFace', 'Detector', 'as_bgr', 'build_detector', 'check_detector', 'fit_similarity',
           'register']

DETECTORS = Registry('detector', 'detection_model')


def register(name: str, factory: Callable[..., Detector], help: str, weights: tuple[str, ...] = (),
             layout: str = RETINAFACE_5.name) -> Entry:
    """Add a detector: ``factory(device=, weights_dir=, progress=)`` returns an object with ``detect(bgr)``;
    ``weights``: the weight zoo's keys it downloads; ``layout``: its landmarks' (``codeformer.alignment.LAYOUTS``)."""
    return DETECTORS.register(name, factory, help, weights, layout=layout)


def build_detector(name: str, device: torch.device | str = 'cpu', weights_dir: str | os.PathLike | None = None,
                   progress: bool = True) -> Detector:
    """The detector ``name`` (one of ``DETECTORS``), ready to ``detect``.

    ``weights_dir`` is searched first for downloaded weights and receives a download (like facexlib's
    ``model_rootpath``); otherwise the weight zoo's places are used. A weight file that cannot be had raises
    ``codeformer.weight_zoo.WeightsUnavailable`` with a one-line message; a missing package,
    ``MissingPackage`` (a ModuleNotFoundError).
    """
    return DETECTORS.build(name, device=device, weights_dir=weights_dir, progress=progress)


def check_detector(name: str) -> None:
    """An ``InvalidOption`` for a name that is not one of ``DETECTORS``, before anything loads."""
    DETECTORS.check(name)


def _retinaface(name: str) -> Callable[..., Detector]:
    def make(device='cpu', weights_dir=None, progress=True) -> Detector:
        from codeformer.detection.retinaface import RetinaFaceDetector
        return RetinaFaceDetector(name, device=device, weights_dir=weights_dir, progress=progress)
    return make


def _mtcnn(device='cpu', weights_dir=None, progress=True) -> Detector:
    from codeformer.detection.mtcnn import MTCNNDetector
    return MTCNNDetector(device=device)


def _dlib(device='cpu', weights_dir=None, progress=True) -> Detector:
    from codeformer.detection.dlib_mmod import DlibDetector
    return DlibDetector(weights_dir=weights_dir, progress=progress)


register('retinaface_resnet50', _retinaface('retinaface_resnet50'),
         'RetinaFace ResNet-50 via facexlib, the most accurate (downloads 104 MB: facelib '
         'detection_Resnet50_Final.pth)',
         weights=('retinaface_resnet50',))
register('retinaface_mobile0.25', _retinaface('retinaface_mobile0.25'),
         'RetinaFace MobileNet-0.25 via facexlib, fast (downloads 1.7 MB: facelib detection_mobilenet0.25_Final.pth)',
         weights=('retinaface_mobile0.25',))
register('mtcnn', _mtcnn,
         'MTCNN, no download: weights ship in the facenet-pytorch wheel (pip install --no-deps facenet-pytorch)')
register('dlib', _dlib,
         "dlib's MMOD CNN detector + 5-point predictor as in the official CodeFormer; slow on the CPU; no download "
         'with pip install dlib-bin face_recognition_models, else downloads 10 MB (dlib set)',
         weights=('dlib_mmod', 'dlib_5_landmarks'), layout=DLIB_5.name)

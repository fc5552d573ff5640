"""Face detectors for whole-image restoration: each returns boxes, scores and RetinaFace's five points.

``build_detector(name)`` makes one of ``DETECTORS``; every detector has ``detect(bgr) -> list[DetectedFace]``, faces
sorted by score, high first, points in RetinaFace's order (image-left eye first). One module per detector family:
``retinaface`` (facexlib, weights from the weight zoo), ``dlib_mmod`` (dlib, the official files), ``mtcnn`` (our
network code, weights shipped in the facenet-pytorch wheel: nothing to download).
"""
from __future__ import annotations

import os

import torch

from codeformer.detection.common import DetectedFace, Detector, as_bgr, fit_similarity
from codeformer.errors import InvalidOption

__all__ = ['DETECTORS', 'DetectedFace', 'Detector', 'as_bgr', 'build_detector', 'fit_similarity']

DETECTORS: dict[str, str] = {
    'retinaface_resnet50': 'RetinaFace ResNet-50 via facexlib, the most accurate (downloads 104 MB: facelib '
                           'detection_Resnet50_Final.pth)',
    'retinaface_mobile0.25': 'RetinaFace MobileNet-0.25 via facexlib, fast (downloads 1.7 MB: facelib '
                             'detection_mobilenet0.25_Final.pth)',
    'mtcnn': 'MTCNN, no download: weights ship in the facenet-pytorch wheel (pip install --no-deps facenet-pytorch)',
    'dlib': "dlib's MMOD CNN detector + 5-point predictor as in the official CodeFormer; slow on the CPU; no download "
            'with pip install dlib-bin face_recognition_models, else downloads 10 MB (dlib set)',
}


def build_detector(name: str, device: torch.device | str = 'cpu', weights_dir: str | os.PathLike | None = None,
                   progress: bool = True) -> Detector:
    """The detector ``name`` (a key of ``DETECTORS``), ready to ``detect``.

    ``weights_dir`` is searched first for downloaded weights and receives a download (like facexlib's
    ``model_rootpath``); otherwise the weight zoo's places are used. A weight file that cannot be had raises
    ``codeformer.weight_zoo.WeightsUnavailable`` with a one-line message; a missing package,
    ``MissingPackage`` (a ModuleNotFoundError).
    """
    if name.startswith('retinaface'):
        if name not in DETECTORS:
            raise unknown_detector(name)
        from codeformer.detection.retinaface import RetinaFaceDetector

        return RetinaFaceDetector(name, device=device, weights_dir=weights_dir, progress=progress)
    if name == 'mtcnn':
        from codeformer.detection.mtcnn import MTCNNDetector

        return MTCNNDetector(device=device)
    if name == 'dlib':
        from codeformer.detection.dlib_mmod import DlibDetector

        return DlibDetector(weights_dir=weights_dir, progress=progress)
    raise unknown_detector(name)


def unknown_detector(name: str) -> InvalidOption:
    return InvalidOption(f'unknown detector; known: {", ".join(DETECTORS)}', 'detection_model', name)


def check_detector(name: str) -> None:
    """An ``InvalidOption`` for a name that is not one of ``DETECTORS``, before anything loads."""
    if name not in DETECTORS:
        raise unknown_detector(name)

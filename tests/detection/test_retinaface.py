"""RetinaFace through facexlib with weights from the weight zoo.

The released weights cannot be had here, so these tests use seeded random weights written where the zoo looks
($CODEFORMER_WEIGHTS_DIR), with the face-class bias raised so that detections come out: they check that the
detector builds, loads, runs and returns the right types, not its accuracy.
"""
import warnings

import cv2
import numpy as np
import pytest
import torch

from codeformer import weight_zoo
from codeformer.detection import DETECTORS, DetectedFace, build_detector
from codeformer.detection.retinaface import NETWORKS


def _random_weights(folder, name: str, module_prefix: bool) -> None:
    from facexlib.detection.retinaface import RetinaFace

    torch.manual_seed(0)
    with warnings.catch_warnings():  # torchvision's deprecation of `pretrained`, used by facexlib
        warnings.simplefilter('ignore', UserWarning)
        net = RetinaFace(network_name=NETWORKS[name], half=False, device='cpu')
    state = net.state_dict()
    for level in range(3):  # every anchor says "face" -> many detections to check
        state[f'ClassHead.{level}.conv1x1.bias'] = torch.tensor([-6.0, 6.0] * 2)
    if module_prefix:  # the released files were saved from DataParallel
        state = {f'module.{k}': v for k, v in state.items()}
    torch.save(state, folder / weight_zoo.get(name).filename)


@pytest.fixture(scope='module')
def weights_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('weights')
    _random_weights(folder, 'retinaface_mobile0.25', module_prefix=True)
    _random_weights(folder, 'retinaface_resnet50', module_prefix=False)
    return folder


@pytest.mark.parametrize('name', ['retinaface_mobile0.25', 'retinaface_resnet50'])
def test_runs_and_returns_faces(name, weights_dir, monkeypatch, astronaut):
    monkeypatch.setenv(weight_zoo.ENV_DIR, str(weights_dir))
    assert name in DETECTORS
    detector = build_detector(name, device='cpu', progress=False)
    assert detector.name == name
    faces = detector.detect(cv2.resize(astronaut, (96, 64)))
    assert faces and all(isinstance(f, DetectedFace) for f in faces)
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    f = faces[0]
    assert f.box.shape == (4,) and f.landmarks.shape == (5, 2) and isinstance(f.score, float) and f.score > 0.8
    assert f.box.dtype == np.float64 and np.isfinite(f.landmarks).all()
    for img in (np.zeros((1, 1), np.uint8), np.zeros((7, 5, 3), np.uint8), np.zeros((40, 30), np.uint8)):
        assert isinstance(detector.detect(img), list)


def test_weights_dir_argument(weights_dir, monkeypatch, tmp_path):
    monkeypatch.setenv(weight_zoo.ENV_DIR, str(tmp_path))  # the zoo's own folder is empty
    detector = build_detector('retinaface_mobile0.25', weights_dir=str(weights_dir), progress=False)
    assert detector.detect(np.full((32, 32, 3), 128, np.uint8))


def test_missing_weights_is_one_line(monkeypatch, tmp_path):
    """No file anywhere and no way to download it: WeightsUnavailable naming the file, nothing in site-packages."""
    monkeypatch.setenv(weight_zoo.ENV_DIR, str(tmp_path))
    monkeypatch.setenv(weight_zoo.ENV_MIRROR, 'http://127.0.0.1:9')  # refused at once
    if weight_zoo.find('retinaface_mobile0.25') is not None:
        pytest.skip('the released file is installed in the checkout')
    with pytest.raises(weight_zoo.WeightsUnavailable) as info:
        build_detector('retinaface_mobile0.25', progress=False)
    assert 'detection_mobilenet0.25_Final.pth' in str(info.value) and '\n' not in str(info.value)


def test_unknown_name():
    with pytest.raises(ValueError, match='unknown detector'):
        build_detector('retinaface_resnet18')
    with pytest.raises(ValueError, match='mtcnn'):
        build_detector('yolo')


def test_small_photos_are_detected_at_a_short_side_of_640_and_scaled_back(weights_dir, monkeypatch, astronaut):
    """As the official helper: enlarged (never shrunk) to a shorter side of 640, the points divided by the scale."""
    monkeypatch.setenv(weight_zoo.ENV_DIR, str(weights_dir))
    detector = build_detector('retinaface_mobile0.25', device='cpu', progress=False)
    seen, inner = [], detector.net.detect_faces

    def recording(img, **kwargs):
        seen.append(img.shape[:2])
        return inner(img, **kwargs)

    monkeypatch.setattr(detector.net, 'detect_faces', recording)
    small = detector.detect(cv2.resize(astronaut, (96, 64)))
    large = detector.detect(cv2.resize(astronaut, (800, 700)))
    assert seen == [(640, 960), (700, 800)]
    for faces, (w, h) in ((small, (96, 64)), (large, (800, 700))):
        centres = np.array([(f.box[:2] + f.box[2:]) / 2 for f in faces])
        assert centres.min() > -1 and (centres.max(0) < [w + 1, h + 1]).all()

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


def _known_output_weights(folder) -> None:
    """mobile0.25 weights whose heads ignore the image: every box and point is its anchor's (regressions zero), and
    only the coarsest level (stride 32, anchors of 256 and 512 px) says "face", with softmax scores sigmoid(12) for
    the 256 px anchors and sigmoid(4) for the 512 px ones (two anchors per place: background, face logits each)."""
    from facexlib.detection.retinaface import RetinaFace

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        state = RetinaFace(network_name='mobile0.25', half=False, device='cpu').state_dict()
    for level, bias in enumerate(([6.0, -6.0] * 2, [6.0, -6.0] * 2, [-6.0, 6.0, -2.0, 2.0])):
        for head in ('ClassHead', 'BboxHead', 'LandmarkHead'):
            state[f'{head}.{level}.conv1x1.weight'].zero_()
            state[f'{head}.{level}.conv1x1.bias'].zero_()
        state[f'ClassHead.{level}.conv1x1.bias'] = torch.tensor(bias)
    torch.save(state, folder / weight_zoo.get('retinaface_mobile0.25').filename)


def test_weights_dir_argument(monkeypatch, tmp_path):
    """The file in ``weights_dir`` is the one used: its known output comes out, decoded, thresholded, suppressed
    (NMS at 0.4) and scaled back to the photo (32 px, detected at 640: a factor of 20)."""
    from torchvision.ops import box_iou

    (tmp_path / 'zoo').mkdir()
    monkeypatch.setenv(weight_zoo.ENV_DIR, str(tmp_path / 'zoo'))  # the zoo's own folder is empty
    (tmp_path / 'given').mkdir()
    _known_output_weights(tmp_path / 'given')
    detector = build_detector('retinaface_mobile0.25', weights_dir=str(tmp_path / 'given'), progress=False)
    faces = detector.detect(np.full((32, 32, 3), 128, np.uint8))
    assert faces and [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    boxes = np.array([f.box for f in faces]) * 20
    centres, sides = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]
    # only the coarsest anchors passed the threshold (0.8): squares of 256 or 512 px on a 32 px grid
    assert set(np.round(sides.ravel(), 2)) == {256.0, 512.0}
    assert np.allclose(sides[:, 0], sides[:, 1], atol=1e-3)
    assert np.allclose((centres - 16) / 32, np.round((centres - 16) / 32), atol=1e-4)
    # each score is its anchor's; the 256 px faces come first
    expected = np.where(sides[:, 0] < 300, 1 / (1 + np.exp(-12)), 1 / (1 + np.exp(-4)))
    assert np.allclose([f.score for f in faces], expected, rtol=0, atol=1e-6)
    # the five points of each face, all at its anchor's centre (the regression is zero)
    for face, centre in zip(faces, centres / 20):
        assert face.landmarks.shape == (5, 2) and np.allclose(face.landmarks, centre, atol=1e-3)
    # NMS: the faces kept of one size overlap by at most 0.4, and every anchor of that size left out overlaps a kept
    # one by more (a 256 px box inside a 512 px one: IoU 0.25, so the sizes never suppress each other)
    grid = (np.arange(20) + 0.5) * 32
    for side in (256, 512):
        kept = torch.from_numpy(boxes[np.round(sides[:, 0]) == side])
        iou = box_iou(kept, kept).fill_diagonal_(0)
        assert len(kept) and iou.max() <= 0.4
        cx, cy = np.meshgrid(grid, grid)
        anchors = torch.from_numpy(np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], -1))
        overlap = box_iou(anchors.reshape(-1, 4), kept)
        assert (overlap > 0.4).any(1).all()


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

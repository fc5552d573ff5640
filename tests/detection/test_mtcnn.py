"""MTCNN, the detector that needs no download, on real photographs as a user meets them."""
import importlib.util

import cv2
import numpy as np
import pytest

from codeformer.alignment import apply_affine
from codeformer.detection import DetectedFace, build_detector
from codeformer.detection.common import fit_similarity

from .conftest import ASTRONAUT_BY_EYE, SKIMAGE_DATA, TEMPLATE_512

if importlib.util.find_spec('facenet_pytorch') is None:  # its weight files; the package itself is never imported
    pytest.skip('pip install --no-deps facenet-pytorch', allow_module_level=True)


@pytest.fixture(scope='module')
def mtcnn():
    return build_detector('mtcnn')


def test_astronaut_one_face_with_points_on_the_eyes(mtcnn, astronaut):
    faces = mtcnn.detect(astronaut)
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, DetectedFace) and face.score > 0.95
    assert face.box.shape == (4,) and face.landmarks.shape == (5, 2)
    err = np.linalg.norm(face.landmarks - ASTRONAUT_BY_EYE, axis=1)
    assert err[:2].max() < 3, err  # eyes: within 3 px
    assert err[2:].max() < 8, err  # nose tip and mouth corners: harder to read by eye
    x1, y1, x2, y2 = face.box
    assert x1 < 202 < x2 and y1 < 100 < 143 < y2


def test_aligned_crop_puts_the_eyes_on_the_template(mtcnn, astronaut):
    """The pipeline's step: similarity from the five points onto the 512 template, then warp."""
    face = mtcnn.detect(astronaut)[0]
    matrix = fit_similarity(face.landmarks, TEMPLATE_512)
    eyes_in_crop = apply_affine(matrix, ASTRONAUT_BY_EYE[:2])
    assert np.linalg.norm(eyes_in_crop - TEMPLATE_512[:2], axis=1).max() < 12
    crop = cv2.warpAffine(astronaut, matrix, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    again = mtcnn.detect(crop)  # the face found in the crop has its eyes where the template wants them
    assert len(again) == 1
    assert np.linalg.norm(again[0].landmarks[:2] - TEMPLATE_512[:2], axis=1).max() < 12


def test_group_picture_all_faces_found(mtcnn, group):
    image, boxes = group
    faces = mtcnn.detect(image)
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    for x1, y1, x2, y2 in boxes:
        hits = [f for f in faces if x1 <= f.landmarks[:, 0].mean() <= x2 and y1 <= f.landmarks[:, 1].mean() <= y2]
        assert len(hits) == 1, ((x1, y1, x2, y2), [f.box for f in faces])
    assert len(faces) == len(boxes)


@pytest.mark.parametrize('name', ['coffee.png', 'chelsea.png'])
def test_no_face_gives_empty_list(mtcnn, name):
    assert mtcnn.detect(cv2.imread(str(SKIMAGE_DATA / name))) == []  # chelsea is a cat


def test_gray_and_rgba_inputs(mtcnn, astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    for img in (gray, gray[:, :, None], cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)):
        faces = mtcnn.detect(img)
        assert len(faces) == 1
        assert np.linalg.norm(faces[0].landmarks[:2] - ASTRONAUT_BY_EYE[:2], axis=1).max() < 4


@pytest.mark.parametrize('shape', [(1, 1), (5, 7, 3), (11, 11, 3), (12, 12, 3), (13, 40, 3), (40, 13)])
def test_tiny_images_do_not_crash(mtcnn, shape):
    """Shorter than the smallest face looked for (20 px): no face, and no crash."""
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert min(shape[:2]) < mtcnn.min_face
    assert mtcnn.detect(img) == []


@pytest.mark.parametrize('size', [20, 32, 48])
def test_a_face_filling_a_tiny_image_is_found_with_its_points_in_order(mtcnn, astronaut, size):
    """The astronaut's head (160 px around her face) shrunk down to the smallest face looked for, and a little above."""
    head = cv2.resize(astronaut[40:200, 136:296], (size, size), interpolation=cv2.INTER_AREA)
    faces = mtcnn.detect(head)
    assert len(faces) == 1
    face = faces[0]
    assert isinstance(face, DetectedFace) and 0.9 < face.score <= 1
    x1, y1, x2, y2 = face.box
    assert 0 <= x1 < x2 <= size and 0 <= y1 < y2 <= size
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks  # RetinaFace's order
    assert lx < nx < rx and max(ly, ry) < ny < min(mly, mry)  # nose between the eyes, mouth below it
    assert mlx < mrx and x1 < min(lx, mlx) and max(rx, mrx) < x2 and y1 < min(ly, ry) and max(mly, mry) < y2
    expected = (ASTRONAUT_BY_EYE - (136, 40) + 0.5) * size / 160 - 0.5
    assert (np.linalg.norm(face.landmarks - expected, axis=1) < 0.1 * size).all()


def test_small_face_in_a_large_image(mtcnn, astronaut):
    """A 2000 x 1500 photo with a 40 px face: found, points scaled with it."""
    canvas = np.full((1500, 2000, 3), 90, np.uint8)
    small = cv2.resize(astronaut, (212, 212), interpolation=cv2.INTER_AREA)  # face about 40 px
    canvas[700:912, 1300:1512] = small
    faces = mtcnn.detect(canvas)
    assert len(faces) == 1
    expected = (ASTRONAUT_BY_EYE[:2] + 0.5) * 212 / 512 - 0.5 + [1300, 700]
    assert np.linalg.norm(faces[0].landmarks[:2] - expected, axis=1).max() < 2.5


def test_missing_package_says_how_to_install(monkeypatch):
    import codeformer.detection.mtcnn as mod

    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == mod.PACKAGE else real(name, *args)

    monkeypatch.setattr(mod.importlib.util, 'find_spec', find_spec)
    with pytest.raises(ModuleNotFoundError, match='pip install --no-deps facenet-pytorch'):
        build_detector('mtcnn')

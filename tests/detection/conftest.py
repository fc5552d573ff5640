"""Real photographs that ship with installed packages, and a group picture composed from them."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage

SKIMAGE_DATA = Path(skimage.__file__).parent / 'data'
# the 512 x 512 astronaut read by eye: left eye, right eye, nose tip, mouth corners (image left/right)
ASTRONAUT_BY_EYE = np.array([[202, 100], [248.5, 102.5], [225, 122.5], [207, 142.5], [241, 143.5]])
TEMPLATE_512 = np.array([[192.98, 239.95], [318.90, 240.19], [256.63, 314.02], [201.26, 371.41], [313.09, 371.15]])


@pytest.fixture(scope='session')
def astronaut() -> np.ndarray:
    return cv2.imread(str(SKIMAGE_DATA / 'astronaut.png'))


def _head(img: np.ndarray, box: tuple[int, int, int, int], face: int) -> np.ndarray:
    """A square crop 2.2 face boxes wide around ``box``, scaled so the face is ``face`` px wide."""
    x1, y1, x2, y2 = box
    side = 2.2 * (x2 - x1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    m = np.float32([[1, 0, side / 2 - cx], [0, 1, side / 2 - cy]]) * (face / (x2 - x1))
    out = int(round(side * face / (x2 - x1)))
    return cv2.warpAffine(img, m, (out, out), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)


@pytest.fixture(scope='session')
def group(astronaut) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A 960 x 720 group picture: six real faces (astronaut, Grace Hopper, four LFW people) of 64-150 px pasted on a
    real photo (scikit-image's coffee), with their face boxes."""
    canvas = cv2.resize(cv2.imread(str(SKIMAGE_DATA / 'coffee.png')), (960, 720), interpolation=cv2.INTER_AREA)
    hopper = cv2.imread(str(Path(pytest.importorskip('matplotlib').__file__).parent / 'mpl-data' / 'sample_data'
                            / 'grace_hopper.jpg'))
    lfw = (np.load(SKIMAGE_DATA / 'lfw_subset.npy')[:100] * 255).round().astype(np.uint8)
    patches = [_head(astronaut, (168, 69, 264, 165), 100), _head(hopper, (191, 146, 356, 311), 64)]
    patches += [cv2.cvtColor(cv2.resize(lfw[i], (s, s), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
                for i, s in ((0, 150), (22, 120), (41, 96), (77, 80))]
    boxes = []
    for k, patch in enumerate(patches):
        x, y = 40 + (k % 3) * 320, 60 + (k // 3) * 340
        h, w = patch.shape[:2]
        canvas[y:y + h, x:x + w] = patch
        face = 100 if k == 0 else 64 if k == 1 else w
        off = (w - face) // 2
        boxes.append((x + off, y + off, x + off + face, y + off + face))
    return canvas, boxes

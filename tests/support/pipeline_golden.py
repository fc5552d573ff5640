"""The official alignment and paste-back recorded on public-domain photos (tests/data/pipeline), and the stand-ins that
feed them through ``FaceEnhancer``: a detector giving the recorded landmarks, a restorer giving the recorded faces, a
parser giving the recorded label map's mask. ``make_pipeline_golden.py`` says what is stored and how."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from codeformer.detection import DetectedFace
from codeformer.paste import parsing_soft_mask
from tests.support.make_pipeline_golden import derived_inputs, face_from_crop

DATA = Path(__file__).resolve().parent.parent / 'data' / 'pipeline'
META = json.loads((DATA / 'cases.json').read_text())
CASES = {case['name']: case for case in META['cases']}


def read(name: str) -> np.ndarray:
    return cv2.imread(str(DATA / name), cv2.IMREAD_UNCHANGED)


def inputs() -> dict[str, np.ndarray]:
    made = derived_inputs(read('astro512.png'))
    made['composite'] = read('composite.png')
    return made


def official_crops(case: dict, helper_input: np.ndarray) -> list[np.ndarray]:
    """The official crops: the recorded matrices applied as the official applies them (exact, checked on storing)."""
    return [cv2.warpAffine(helper_input, np.array(m), (512, 512), borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(135, 133, 132)) for m in case['affine_matrices']]


def given_faces(case: dict, crops: list[np.ndarray]) -> list[np.ndarray]:
    """The faces the recording pasted back (made from the official crops), uint8 BGR 512 x 512."""
    return [(face_from_crop(crop, i) + np.load(DATA / name)['residual']).astype(np.uint8)
            for i, (crop, name) in enumerate(zip(crops, case['faces']))]


def final_samples(case: dict, final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ours, official) over the stored regions of the final, flattened, in the official's 8-bit levels."""
    ours, theirs = [], []
    scale = 257.0 if final.dtype == np.uint16 else 1.0
    for region in case['regions']:
        x0, y0, x1, y1 = region['box']
        step = region['stride']
        ours.append(final[y0:y1:step, x0:x1:step].astype(np.float64).ravel() / scale)
        theirs.append(read(region['file']).astype(np.float64).ravel())
    return np.concatenate(ours), np.concatenate(theirs)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float('inf') if mse == 0 else 10 * np.log10(255.0**2 / mse)


@dataclass
class GivenLandmarks:
    """A detector that finds the recorded faces (in the photo the official worked on)."""
    landmarks: list
    layout: str
    name: str = 'recorded'

    def detect(self, bgr: np.ndarray) -> list[DetectedFace]:
        faces = []
        for points in self.landmarks:
            pts = np.asarray(points, np.float64)
            box = np.concatenate([pts.min(0) - 20, pts.max(0) + 20])
            faces.append(DetectedFace(box, 0.99, pts, layout=self.layout))
        return faces


class GivenFaces:
    """A restorer that returns the recorded faces, in the crops' dtype; it also keeps the crops it was given."""

    def __init__(self, faces: list[np.ndarray]):
        self.faces, self.seen = faces, []
        self.device, self.batch_size = 'cpu', 1

    def restore_faces(self, crops: list[np.ndarray], w: object = None) -> list[np.ndarray]:
        self.seen.extend(crops)
        return [face.astype(np.uint16) * 257 if crop.dtype == np.uint16 else face.copy()
                for face, crop in zip(self.faces, crops)]


class GivenLabels:
    """A parser whose masks all come from one recorded label map."""

    def __init__(self, labels: np.ndarray):
        self.mask = parsing_soft_mask(labels.astype(np.int64))

    def masks(self, faces: list[np.ndarray]) -> list[np.ndarray]:
        return [self.mask for _ in faces]


# Cases recorded from the official helper pasting with upsamplers (a background and/or faces upsampled), each on top
# of one of the cases above (``base``): its landmarks, restored faces and label map. The recording's README is the
# ``source`` line of the file.
UPSAMPLED = json.loads((DATA / 'upsampled_cases.json').read_text())['cases']


class CubicX2:
    """The recordings' stand-in for Real-ESRGAN, with its ``enhance(img, outscale)``: x2 bicubic, then Lanczos to
    ``outscale`` (as ``RealESRGANer`` resizes its x2 output)."""

    def __init__(self):
        self.calls = []  # the shape of every image it was given

    def enhance(self, img: np.ndarray, outscale: float = 2) -> np.ndarray:
        self.calls.append(img.shape)
        h, w = img.shape[:2]
        out = cv2.resize(img, (w * 2, h * 2), interpolation=cv2.INTER_CUBIC)
        if outscale != 2:
            out = cv2.resize(out, (int(w * outscale), int(h * outscale)), interpolation=cv2.INTER_LANCZOS4)
        return out


def upsampled_samples(case: dict, final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ours, official) over the stored face regions and the strided whole frame of an ``UPSAMPLED`` case."""
    ours, theirs = final_samples(case, final)
    step = case['whole']['stride']
    whole = read(case['whole']['file']).astype(np.float64).ravel()
    return (np.concatenate([ours, final[::step, ::step].astype(np.float64).ravel()]),
            np.concatenate([theirs, whole]))

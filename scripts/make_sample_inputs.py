"""Regenerate the sample inputs in inputs/ from scikit-image's public-domain NASA portrait
("astronaut", Eileen Collins, NASA photo, public domain), using only this project's tools.

    python scripts/make_sample_inputs.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codeformer.utils.image_io import write_image  # noqa: E402

# Five facial points (eyes, nose tip, mouth corners) of the portrait, read off the image by eye.
ASTRONAUT_LANDMARKS = np.array([[202.0, 100.0], [248.5, 102.5], [225.0, 122.5], [207.0, 142.5], [241.0, 143.5]])
# Where those points sit in a 512x512 aligned face (the FFHQ-style template of the released models).
TEMPLATE_512 = np.array([[192.98, 239.95], [318.90, 240.19], [256.63, 314.02], [201.26, 371.41], [313.09, 371.15]])


def degrade(img: np.ndarray, factor: int, quality: int, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    small = cv2.resize(cv2.GaussianBlur(img, (0, 0), factor / 2), (w // factor, h // factor),
                       interpolation=cv2.INTER_AREA)
    small = np.clip(small + rng.normal(0, 4, small.shape), 0, 255).astype(np.uint8)
    small = cv2.imdecode(cv2.imencode('.jpg', small, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def main() -> None:
    from skimage import data
    rng = np.random.default_rng(0)
    photo = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    matrix = cv2.estimateAffinePartial2D(ASTRONAUT_LANDMARKS, TEMPLATE_512, method=cv2.LMEDS)[0]
    face = cv2.warpAffine(photo, matrix, (512, 512), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)

    write_image(ROOT / 'inputs/whole_imgs/astronaut.jpg', degrade(photo, 3, 60, rng),
                [cv2.IMWRITE_JPEG_QUALITY, 95])
    write_image(ROOT / 'inputs/cropped_faces/astronaut.png', degrade(face, 6, 50, rng))
    faded = cv2.cvtColor(degrade(face, 2, 80, rng), cv2.COLOR_BGR2GRAY)
    write_image(ROOT / 'inputs/gray_faces/astronaut.png', (faded * 0.8 + 30).astype(np.uint8))
    masked = face.copy()
    for _ in range(6):  # white brush strokes
        pts = (rng.uniform(120, 400, (4, 2))).astype(np.int32)
        cv2.polylines(masked, [pts], False, (255, 255, 255), int(rng.integers(10, 22)))
    write_image(ROOT / 'inputs/masked_faces/astronaut.png', masked)


if __name__ == '__main__':
    main()

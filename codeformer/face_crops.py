"""Cropping and aligning the faces of photos to the template the restorer uses (preprocessing).

Each face is written as ``<name>_<k>.png`` with a JSON sidecar holding the affine matrix from the
photo to the crop, so a restored crop can later be pasted back into the original
(``codeformer.paste.paste_face`` with the inverted matrix).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from codeformer.alignment import crop_face, eye_distance, similarity_transform
from codeformer.runner import EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, say_error
from codeformer.utils.image_io import (
    ImageReadError,
    as_uint8,
    read_image,
    split_channels,
    write_bytes_atomic,
    write_image,
)
from codeformer.utils.inputs import InputError, collect_inputs


def crop_faces(img: np.ndarray, detector, size: int = 512, only_largest: bool = False,
               min_size: float = 0.0) -> list[tuple[np.ndarray, np.ndarray, object]]:
    """(crop, 2x3 image-to-crop matrix, detected face) for each face of at least ``min_size`` pixels
    (box width in the photo), largest first when ``only_largest``."""
    bgr, _ = split_channels(img)
    faces = [f for f in detector.detect(as_uint8(bgr))
             if f.box[2] - f.box[0] >= min_size and eye_distance(f.landmarks) > 0]
    if only_largest and faces:
        faces = [max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))]
    out = []
    for face in faces:
        matrix = similarity_transform(face.landmarks, size)
        out.append((crop_face(bgr, matrix, size), matrix, face))
    return out


def sidecar(source: Path, matrix: np.ndarray, face, size: int) -> dict:
    return {
        'source': str(source),
        'size': size,
        'affine_matrix': np.round(matrix, 8).tolist(),  # photo pixel (x, y, 1) -> crop pixel
        'box': [round(float(v), 2) for v in face.box],
        'landmarks': [[round(float(x), 2), round(float(y), 2)] for x, y in face.landmarks],
        'score': round(float(face.score), 4),
    }


def crop_folder(input_path: str, output_dir: str, detector, size: int = 512, only_largest: bool = False,
                min_size: float = 0.0, write_sidecars: bool = True, quiet: bool = False) -> int:
    """Crop every photo under ``input_path``; returns the exit code (1 if any photo failed)."""
    from tqdm import tqdm

    inputs = collect_inputs(input_path, kinds=('image', ))
    out = Path(output_dir)
    failed = written = 0
    for inp in tqdm(inputs, unit='img', disable=quiet, file=sys.stderr):
        try:
            crops = crop_faces(read_image(inp.path), detector, size, only_largest, min_size)
        except (ImageReadError, ValueError) as exc:
            say_error(str(exc) if str(inp.path) in str(exc) else f'{inp.path}: {exc}')
            failed += 1
            continue
        for k, (crop, matrix, face) in enumerate(crops):
            write_image(out / f'{inp.name}_{k:02d}.png', crop)
            if write_sidecars:
                data = json.dumps(sidecar(inp.path, matrix, face, size), indent=1).encode()
                write_bytes_atomic(out / f'{inp.name}_{k:02d}.json', data)
            written += 1
    if not quiet:
        print(f'{written} faces from {len(inputs) - failed} images, {failed} failed; in {out}', file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def parser(prog: str, min_size_default: float, sidecars: bool) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description='Crop and align the faces of photos to 512x512.')
    ap.add_argument('-i', '--input_path', '--input_dir', dest='input_path', required=True,
                    help='a photo or a folder of photos')
    ap.add_argument('-o', '--output_path', '--output_dir', dest='output_path', required=True, help='output folder')
    ap.add_argument('--size', type=int, default=512, help='crop size in pixels (default: 512)')
    ap.add_argument('--only_largest', action='store_true', help='keep only the largest face of each photo')
    ap.add_argument('--min_size', type=float, default=min_size_default,
                    help=f'skip faces narrower than this many pixels in the photo (default: {min_size_default:g})')
    ap.add_argument('--detection_model', default='mtcnn', help='face detector (default: mtcnn, no download)')
    ap.add_argument('--device', default='auto')
    ap.add_argument('-q', '--quiet', action='store_true')
    ap.set_defaults(sidecars=sidecars)
    return ap


def main(argv: list[str] | None = None, prog: str = 'crop_align_face.py', min_size: float = 0.0,
         sidecars: bool = True) -> int:
    args = parser(prog, min_size, sidecars).parse_args(argv)
    from codeformer.detection import build_detector
    from codeformer.runtime import DeviceUnavailable, select_device
    from codeformer.weight_zoo import WeightsUnavailable
    try:
        detector = build_detector(args.detection_model, device=select_device(args.device), progress=not args.quiet)
        return crop_folder(args.input_path, args.output_path, detector, args.size, args.only_largest,
                           args.min_size, args.sidecars, args.quiet)
    except (InputError, WeightsUnavailable, DeviceUnavailable, ValueError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_USAGE

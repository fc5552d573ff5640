"""Cropping and aligning the faces of photos to the template the restorer uses (preprocessing).

Each face is written as ``<name>_<k>.png`` with a JSON sidecar holding the affine matrix from the
photo to the crop, so a restored crop can later be pasted back into the original
(``codeformer.paste.paste_face`` with the inverted matrix). The loop over a folder is ``codeformer.batch.crops``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from codeformer.alignment import crop_face, eye_distance, face_matrix, layout_of
from codeformer.utils.image_io import as_uint8, split_channels


def crop_faces(img: np.ndarray, detector, size: int = 512, only_largest: bool = False,
               min_size: float = 0.0) -> list[tuple[np.ndarray, np.ndarray, object]]:
    """(crop, 2x3 image-to-crop matrix, detected face) for each face of at least ``min_size`` pixels
    (box width in the photo), largest first when ``only_largest``."""
    bgr, _ = split_channels(img)
    faces = [f for f in detector.detect(as_uint8(bgr))
             if f.box[2] - f.box[0] >= min_size and eye_distance(f.landmarks, layout_of(f)) > 0]
    if only_largest and faces:
        faces = [max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))]
    out = []
    for face in faces:
        matrix = face_matrix(face, size)
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

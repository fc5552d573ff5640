"""The one writer of results, for the batch tool, the crop script, the video frames and the web page: the official
layout (``final_results/``, ``cropped_faces/``, ``restored_faces/``), each file written whole (atomic: a reader never
sees half of one) and 16-bit safe (``utils.image_io.encode_image``), none over a path its caller refuses."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from codeformer.utils.image_io import encode_image, write_bytes_atomic

FINAL = 'final_results/{name}{tail}.png'


class ResultRefused(OSError):
    """A result's path that its caller refuses (an input of the run, or a path written already): nothing written."""


def official_layout(final: np.ndarray | None, faces: Iterable[tuple[int, np.ndarray, np.ndarray]] = (),
                    tail: str = '') -> dict[str, np.ndarray]:
    """The files the official script writes for one image, by relative path with ``{name}`` for the image's name:
    ``cropped_faces/{name}_00.png`` and ``restored_faces/{name}_00<tail>.png`` per face (index, crop, restored),
    and ``final_results/{name}<tail>.png`` (None: aligned faces, no final image)."""
    files = {}
    for i, crop, face in faces:
        files[f'cropped_faces/{{name}}_{i:02d}.png'] = crop
        files[f'restored_faces/{{name}}_{i:02d}{tail}.png'] = face
    if final is not None:
        files[FINAL.format(name='{name}', tail=tail)] = final
    return files


def write_results(root: str | Path, name: str, files: dict[str, np.ndarray | bytes | dict],
                  claim: Callable[[Path], str | None] | None = None,
                  texts: dict[str, str] | None = None) -> list[Path]:
    """Write ``files`` (relative path with ``{name}`` -> an image, its encoded file, or a dict written as JSON) under
    ``root``, in order; returns the paths written. ``claim(path)`` may refuse a path with its reason
    (``ResultRefused``, raised before that file is written); ``texts`` go into the final result's PNG as text chunks.
    A file that cannot be written raises its ``OSError`` (the files before it stay: each is whole)."""
    written = []
    for rel, content in files.items():
        target = Path(root) / rel.format(name=name)
        refused = claim(target) if claim is not None else None
        if refused:
            raise ResultRefused(refused)
        if isinstance(content, dict):
            data = json.dumps(content, indent=1).encode()
        elif isinstance(content, bytes):
            data = content
        else:
            final = rel.startswith('final_results/')
            data = encode_image(content, target.suffix.lower() or '.png', texts=texts if final else None,
                                what=str(target))
        write_bytes_atomic(target, data)
        written.append(target)
    return written

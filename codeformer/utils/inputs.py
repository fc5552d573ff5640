"""The input walker shared by every front door: a file or a folder in, a sorted list of inputs out."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from codeformer.utils.image_io import file_kind


class InputError(ValueError):
    """The input path as a whole is unusable (missing, empty folder, not an image or video)."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    kind: str  # 'image' or 'video'
    name: str  # unique output stem within the run


def collect_inputs(input_path: str | os.PathLike, kinds: tuple[str, ...] = ('image', 'video')) -> list[InputFile]:
    """Images (and videos) in a folder, recognised by content whatever their extension's case, or the
    single file given. Hidden files and files that are neither are passed over in a folder."""
    path = Path(input_path)
    if not path.exists():
        raise InputError(f'{path}: no such file or folder')
    if path.is_dir():
        found = [(p, file_kind(p)) for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith('.')]
        found = [(p, k) for p, k in found if k in kinds]
        if not found:
            raise InputError(f'{path}: the folder holds no {" or ".join(kinds)} files')
    else:
        kind = file_kind(path)
        if kind not in kinds:
            raise InputError(f'{path}: not a {" or ".join(kinds)} file')
        found = [(path, kind)]
    stems = Counter(p.stem for p, _ in found)
    # Two inputs with one stem (a.jpg, a.png) would write the same output: keep the extension in the name.
    return [InputFile(p, k, p.stem if stems[p.stem] == 1 else f'{p.stem}_{p.suffix.lstrip(".")}') for p, k in found]


def run_name(input_path: str | os.PathLike) -> str:
    """The name a run's results folder is derived from: the folder's or the file's stem."""
    path = Path(os.path.normpath(input_path))
    return path.name if path.is_dir() else path.stem

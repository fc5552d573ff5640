"""The input walker shared by every front door: a file or a folder in, a sorted list of inputs out, each with an
output name no other input of the run has, and a count of what was passed over."""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from codeformer.errors import CodeformerError
from codeformer.utils.image_io import file_kind


class InputError(CodeformerError, ValueError):
    """The input path as a whole is unusable (missing, empty folder, not an image or video)."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    kind: str  # 'image' or 'video'
    name: str  # unique output stem within the run


@dataclass
class InputScan:
    """What a folder (or file) held: the inputs, and what was passed over, by reason in the singular
    ('sub-folder', 'broken link', 'special file', 'file of another type', 'video', 'image'): for the summary."""
    files: list[InputFile]
    passed_over: Counter = field(default_factory=Counter)


def scan_inputs(input_path: str | os.PathLike, kinds: tuple[str, ...] = ('image', 'video')) -> InputScan:
    """Images (and videos) in a folder, recognised by content whatever their extension's case, or the
    single file given. Hidden files are left out silently; sub-folders, broken links (and loops) and files of
    other kinds are passed over and counted."""
    path = Path(input_path)
    if not path.exists():
        raise InputError(f'{path}: no such file or folder')
    skipped: Counter = Counter()
    if path.is_dir():
        found = []
        for p in sorted(path.iterdir()):
            if p.name.startswith('.'):
                continue
            if p.is_dir():
                skipped['sub-folder'] += 1
            elif not p.is_file():
                skipped['broken link' if p.is_symlink() else 'special file'] += 1
            else:
                kind = file_kind(p)
                if kind in kinds:
                    found.append((p, kind))
                else:
                    skipped[kind or 'file of another type'] += 1
        if not found:
            raise InputError(f'{path}: the folder holds no {" or ".join(kinds)} files')
    else:
        kind = file_kind(path)
        if kind not in kinds:
            raise InputError(f'{path}: not a {" or ".join(kinds)} file')
        found = [(path, kind)]
    return InputScan([InputFile(p, k, n) for (p, k), n in zip(found, unique_names([p for p, _ in found]))], skipped)


def collect_inputs(input_path: str | os.PathLike, kinds: tuple[str, ...] = ('image', 'video')) -> list[InputFile]:
    """The inputs of ``scan_inputs``, without the count of what was passed over."""
    return scan_inputs(input_path, kinds).files


def unique_names(paths: list[Path]) -> list[str]:
    """An output stem per path, distinct from every other even on a case-insensitive file system: the file's
    stem; with its extension when another file has the same stem (``a.jpg``, ``a.png`` -> ``a_jpg``, ``a_png``);
    then a number when that is taken as well (``a_png.bmp`` -> ``a_png_2``)."""
    stems = Counter(p.stem.lower() for p in paths)
    taken: set[str] = set()
    names = []
    for p in paths:
        base = p.stem if stems[p.stem.lower()] == 1 else f'{p.stem}_{p.suffix.lstrip(".")}'
        name, n = base, 2
        while name.lower() in taken:
            name, n = f'{base}_{n}', n + 1
        taken.add(name.lower())
        names.append(name)
    return names


def run_name(input_path: str | os.PathLike) -> str:
    """The name a run's results folder is derived from: the folder's or the file's stem."""
    path = Path(os.path.normpath(input_path))
    return path.name if path.is_dir() else path.stem

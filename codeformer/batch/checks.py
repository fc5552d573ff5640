"""Checks made before any work, so that a run that cannot finish stops at once with exit code 2: the output folder
and the report file can be written, and no result would replace an input."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from codeformer.errors import CodeformerError, about_argument


class UsageError(CodeformerError):
    """An argument that makes the whole run impossible (exit code 2)."""

    def __init__(self, reason: str, argument: str | None = None, value: object = None):
        super().__init__(about_argument(self, reason, argument, value))


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``: what permissions and read-only mounts really allow."""
    fd, probe = tempfile.mkstemp(prefix='.codeformer-probe-', dir=folder)
    os.close(fd)
    os.unlink(probe)


def writable_folder(path: str | os.PathLike, what: str = 'output folder') -> None:
    """``path`` is a folder, or can be made one, and files can be created in it; nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f'{path}: the {what} is a file, not a folder')
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise UsageError(f'{path}: the {what} cannot be made: {base} is not a folder')
    try:
        _probe(base)
    except OSError as exc:
        raise UsageError(f'{path}: cannot write the {what} there ({exc.strerror or exc})') from None


def writable_file(path: str | os.PathLike, what: str) -> None:
    """``path`` can be (re)written as a file."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f'{path}: the {what} is a folder, not a file')
    writable_folder(path.parent, f'folder of the {what}')


def real(path: str | os.PathLike) -> str:
    """A path's identity: links resolved, case folded where the file system folds it."""
    return os.path.normcase(os.path.realpath(path))


def no_input_replaced(inputs: Iterable[Path], planned: Iterable[Path], what: str = 'results') -> None:
    """Refuse a run whose ``planned`` outputs include one of its ``inputs``."""
    sources = {real(p): p for p in inputs}
    for out in planned:
        if real(out) in sources:
            raise UsageError(f'{out}: the {what} would replace the input {sources[real(out)]}; write it '
                             f'elsewhere')


class OutputGuard:
    """Refuses to write onto an input, or twice onto one path in a run (two inputs never share a result)."""

    def __init__(self, protected: Sequence[Path] = ()):
        self.inputs = {real(p) for p in protected}
        self.written: set[str] = set()

    def claim(self, target: Path) -> str | None:
        """None if ``target`` may be written (and it is claimed), else why not."""
        key = real(target)
        if key in self.inputs:
            return f'{target} is one of the inputs: not replaced'
        if key in self.written:
            return f'{target} was written for another input of this run: not replaced'
        self.written.add(key)
        return None

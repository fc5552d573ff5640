"""Where uploads and results live: one private folder (mode 0700) made when the server starts and removed when it
stops. Nothing from a request becomes a path: files get names made here (``safe_name`` keeps only a cleaned last
component of the uploaded name, for showing and for naming results), folders get random tokens, and a token from a
request is only ever looked up in a dict.

The folder has a cap (``--max_stored_mb``): every upload and unpacked zip counts its bytes as they are written
(``Meter``), against what the folder held at the last look; beyond the cap the write stops with ``Busy`` (503), so
that many clients at once cannot fill the disk."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import unicodedata
import zipfile
from pathlib import Path

from codeformer.errors import CodeformerError

MAX_NAME = 120
MAX_ZIP_MEMBERS = 10_000
_TOKEN = re.compile(r'^[0-9a-f]{16}$')


class RequestError(CodeformerError):
    """A request that cannot be served; ``status`` is its HTTP status, the message one line for the page."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class Busy(RequestError):
    """The server has taken as much as it may for now: a 503 with a ``Retry-After`` of ``retry_after`` seconds.
    Nothing the server accepted before is touched; the client may ask again later."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message, 503)
        self.retry_after = max(1, min(600, round(retry_after)))


def safe_name(raw: str | None, fallback: str = 'upload') -> str:
    """A file name that is one plain component: the last part of ``raw`` (either slash), control characters and
    leading dots dropped, at most ``MAX_NAME`` characters (the extension kept)."""
    text = unicodedata.normalize('NFC', raw or '')
    text = re.split(r'[\\/]', text)[-1]
    text = ''.join(ch for ch in text if ch.isprintable() and ch not in '<>:"|?*').strip().lstrip('.').strip()
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition('.')
        text = (stem[:MAX_NAME - len(ext) - 1] + '.' + ext) if dot and len(ext) <= 10 else text[:MAX_NAME]
    return text or fallback


def is_token(text: str) -> bool:
    return bool(_TOKEN.match(text or ''))


RESCAN_S = 1.0  # how old the folder's measured size may be when an upload starts
STORE_RETRY_S = 30  # Retry-After when the folder is full: jobs finishing and photos forgotten free it


class Storage:
    """The server's private folder, at most ``max_bytes`` in it (None: no cap)."""

    def __init__(self, parent: str | os.PathLike | None = None, max_bytes: int | None = None):
        self.root = Path(tempfile.mkdtemp(prefix='codeformer-serve-', dir=parent))  # mode 0700
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._writing: dict[str, int] = {}  # files being written (bytes so far), left out of the measured size
        self._measured = 0  # the folder's size at the last look, plus the files written in full since
        self._measured_at = float('-inf')

    def refresh(self, most_age: float = RESCAN_S) -> None:
        """Measure the folder again if the last look is older than ``most_age`` seconds (files removed since then
        still count until then). Walks the folder: call it off the event loop."""
        if time.monotonic() - self._measured_at < most_age:
            return
        with self._lock:
            skip = set(self._writing)
        total = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                path = os.path.join(folder, name)
                if path not in skip:
                    total += _size(path)
        with self._lock:
            finished = skip - set(self._writing)  # written in full while the walk passed them over
        total += sum(_size(p) for p in finished)
        with self._lock:
            self._measured, self._measured_at = total, time.monotonic()

    def used(self) -> int:
        """Bytes in the folder: as last measured, plus what is being written now."""
        with self._lock:
            return self._measured + sum(self._writing.values())

    def room(self) -> int | None:
        """Bytes that may still be stored (None: no cap)."""
        return None if self.max_bytes is None else max(0, self.max_bytes - self.used())

    def full(self, wanted: int | None = None) -> Busy:
        """The 503 for a write that does not fit."""
        what = f'{wanted / 1e6:.1f} MB more do not fit: ' if wanted else ''
        return Busy(f'busy: the server\'s store of uploads is full ({what}{self.used() / 1e6:.0f} of '
                    f'{self.max_bytes / 1e6:.0f} MB used); try again when jobs have finished, or clear finished jobs',
                    STORE_RETRY_S)

    def meter(self) -> Meter:
        """A counter for files about to be written into the folder (``with storage.meter() as m: m.add(...)``)."""
        return Meter(self)

    def _add(self, path: str, n: int) -> None:
        with self._lock:
            if self.max_bytes is not None and self._measured + sum(self._writing.values()) + n > self.max_bytes:
                refused = True
            else:
                refused = False
                self._writing[path] = self._writing.get(path, 0) + n
        if refused:
            raise self.full()

    def _finish(self, paths: dict[str, int], kept: bool) -> None:
        with self._lock:
            for path, n in paths.items():
                self._writing.pop(path, None)
                if kept:
                    self._measured += n

    def new_folder(self, kind: str) -> tuple[str, Path]:
        """A new, empty folder ``<root>/<kind>/<token>`` and its token."""
        token = secrets.token_hex(8)
        folder = self.root / kind / token
        folder.mkdir(parents=True)
        return token, folder

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _size(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:  # removed meanwhile
        return 0


class Meter:
    """Counts the bytes written to files of the private folder, refusing (``Busy``) any beyond its cap. Leaving the
    ``with`` block normally keeps them counted; leaving it by an exception (the files removed) does not."""

    def __init__(self, storage: Storage):
        self._storage = storage
        self._paths: dict[str, int] = {}

    def add(self, path: Path, n: int) -> None:
        """``n`` more bytes for ``path``; ``Busy`` if they do not fit."""
        self._storage._add(str(path), n)
        self._paths[str(path)] = self._paths.get(str(path), 0) + n

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self._storage._finish(self._paths, kept=kind is None)


def child(folder: Path, name: str) -> Path:
    """``folder / name`` for a ``name`` from ``safe_name``, checked to be directly inside ``folder``."""
    path = folder / name
    if name in ('', '.', '..') or path.parent != folder or os.sep in name or (os.altsep and os.altsep in name):
        raise RequestError(f'{name!r}: not a plain file name')
    return path


def free_name(folder: Path, name: str) -> Path:
    """A path in ``folder`` for ``name`` that no file there has yet (``a.png``, ``a (2).png``, ...)."""
    path = child(folder, name)
    stem, suffix, n = path.stem, path.suffix, 2
    while path.exists():
        path = child(folder, f'{stem} ({n}){suffix}')
        n += 1
    return path


def extract_zip(archive: Path, folder: Path, max_bytes: int, meter: Meter | None = None) -> list[Path]:
    """The files of an uploaded zip copied into ``folder`` under names made by ``safe_name`` (the member's folders
    are dropped, hidden files and folders left out), counting the bytes really read: more than ``max_bytes`` in all,
    or more than ``MAX_ZIP_MEMBERS`` files, is refused, and so is more than ``meter`` lets into the private folder.
    A refused zip leaves none of its files."""
    out: list[Path] = []
    try:
        return _extract(archive, folder, max_bytes, meter, out)
    except BaseException:
        for path in out:
            path.unlink(missing_ok=True)
        raise


def _extract(archive: Path, folder: Path, max_bytes: int, meter: Meter | None, out: list[Path]) -> list[Path]:
    try:
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.infolist() if not m.is_dir()]
            members = [m for m in members if not any(p.startswith(('.', '__MACOSX')) and p not in ('.', '..')
                                                     for p in re.split(r'[\\/]', m.filename))]
            if len(members) > MAX_ZIP_MEMBERS:
                raise RequestError(f'{archive.name}: more than {MAX_ZIP_MEMBERS} files in the zip', 413)
            total = 0
            for m in members:
                target = free_name(folder, safe_name(m.filename))
                out.append(target)
                with z.open(m) as src, open(target, 'wb') as dst:
                    while block := src.read(1 << 20):
                        if meter is not None:
                            meter.add(target, len(block))
                        total += len(block)
                        if total > max_bytes:
                            raise RequestError(f'{archive.name}: the zip unpacks to more than the upload limit of '
                                               f'{max_bytes / 1e6:.0f} MB', 413)
                        dst.write(block)
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise RequestError(f'{archive.name}: cannot read the zip ({exc})') from None

"""Where uploads and results live: one private folder (mode 0700) made when the server starts and removed when it
stops. Nothing from a request becomes a path: files get names made here (``safe_name`` keeps only a cleaned last
component of the uploaded name, for showing and for naming results), folders get random tokens, and a token from a
request is only ever looked up in a dict."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
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


class Storage:
    """The server's private folder."""

    def __init__(self, parent: str | os.PathLike | None = None):
        self.root = Path(tempfile.mkdtemp(prefix='codeformer-serve-', dir=parent))  # mode 0700

    def new_folder(self, kind: str) -> tuple[str, Path]:
        """A new, empty folder ``<root>/<kind>/<token>`` and its token."""
        token = secrets.token_hex(8)
        folder = self.root / kind / token
        folder.mkdir(parents=True)
        return token, folder

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


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


def extract_zip(archive: Path, folder: Path, max_bytes: int) -> list[Path]:
    """The files of an uploaded zip copied into ``folder`` under names made by ``safe_name`` (the member's folders
    are dropped, hidden files and folders left out), counting the bytes really read: more than ``max_bytes`` in all,
    or more than ``MAX_ZIP_MEMBERS`` files, is refused."""
    try:
        with zipfile.ZipFile(archive) as z:
            members = [m for m in z.infolist() if not m.is_dir()]
            members = [m for m in members if not any(p.startswith(('.', '__MACOSX')) and p not in ('.', '..')
                                                     for p in re.split(r'[\\/]', m.filename))]
            if len(members) > MAX_ZIP_MEMBERS:
                raise RequestError(f'{archive.name}: more than {MAX_ZIP_MEMBERS} files in the zip', 413)
            total, out = 0, []
            for m in members:
                target = free_name(folder, safe_name(m.filename))
                with z.open(m) as src, open(target, 'wb') as dst:
                    while block := src.read(1 << 20):
                        total += len(block)
                        if total > max_bytes:
                            raise RequestError(f'{archive.name}: the zip unpacks to more than the upload limit of '
                                               f'{max_bytes / 1e6:.0f} MB', 413)
                        dst.write(block)
                out.append(target)
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise RequestError(f'{archive.name}: cannot read the zip ({exc})') from None

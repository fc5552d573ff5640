"""Results that stay: every restored photo, batch and video is written to the output folder (``--output_dir``) in
the batch tool's layout (``final_results/``, ``cropped_faces/``, ``restored_faces/``), never over a file that is
there already, and listed as a gallery that survives a reload. Names from the gallery are only looked up in the
listing, never used as paths.

One entry per result: a photo of the page is saved under a name of its own, and a later save of the same upload
(its bytes) with the same settings goes to that entry again instead of a copy. Beside the results, hidden files the
gallery keeps in step with them: ``.gallery.json`` (which upload and settings each photo entry is, so that this
holds after a restart), ``.thumbs/`` (a small WebP of each result, made when it is saved), ``.sources/`` (each page
photo's input: the viewer's "before") and ``.trash/`` (what Delete moved there, one folder per entry: nothing is
deleted outright)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from codeformer.errors import CodeformerError
from codeformer.outputs import FINAL, official_layout, write_results
from codeformer.serve.store import RequestError, free_name
from codeformer.utils.image_io import as_uint8, decode_image, encode_image, write_bytes_atomic


class OutputError(CodeformerError):
    """A result could not be written to the output folder (read-only, full, not a folder): one line that says so."""


GALLERY_SIZE = 200  # the newest results listed
SHOWN = ('final_results', 'videos')  # what the gallery lists; the face crops stay beside them
FACE_FOLDERS = ('cropped_faces', 'restored_faces')
INDEX, THUMBS, SOURCES, TRASH = '.gallery.json', '.thumbs', '.sources', '.trash'
INDEX_SIZE = 10_000  # photo entries remembered (entries whose result is gone are dropped first)
THUMB_SIDE = 256  # px on the long side: twice the gallery's tiles, sharp on a dense screen
THUMB_QUALITY = 80
SHOWN_BY_BROWSERS = {b'\x89PNG': '.png', b'\xff\xd8\xff': '.jpg', b'GIF8': '.gif'}  # an input kept as it came


def identity(upload: bytes, parameters: str) -> str:
    """Which result a save is: the upload's bytes and the result's parameters line (the settings that change the
    result and the file's name: a re-upload of the same file replaces its entry, a copy renamed on purpose is kept
    apart, and so is the same picture uploaded by two tests or people under their own names)."""
    digest = hashlib.sha256(upload)
    digest.update(b'\0' + parameters.encode())
    return digest.hexdigest()


def thumbnail(data: bytes, what: str) -> bytes:
    """A small WebP of an image file (``THUMB_SIDE`` px on its long side at most) for the gallery."""
    image = as_uint8(decode_image(np.frombuffer(data, np.uint8), what))
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    scale = THUMB_SIDE / max(h, w)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return encode_image(image, '.webp', [cv2.IMWRITE_WEBP_QUALITY, THUMB_QUALITY], what=what)


def kept_input(upload: bytes, decoded_png: bytes) -> tuple[bytes, str]:
    """The input to keep as the viewer's "before", and its extension: the upload itself when a browser shows its
    format, else its decoded pixels as PNG (a TIFF, say)."""
    if upload[:4] == b'RIFF' and upload[8:12] == b'WEBP':
        return upload, '.webp'
    for magic, ext in SHOWN_BY_BROWSERS.items():
        if upload.startswith(magic):
            return upload, ext
    return decoded_png, '.png'


def _read(path: Path | None) -> bytes:
    try:
        return path.read_bytes() if path is not None else b''
    except OSError:  # the upload forgotten meanwhile: its decoded pixels stand in for it
        return b''


class EntryIndex:
    """Which upload and settings (``identity``) each photo entry of the page is, by the stem of its files, kept in
    ``.gallery.json``: read once, written whole after each change. Entries whose result is gone are left out."""

    def __init__(self, root: Path):
        self.path, self.final = root / INDEX, root / 'final_results'
        self._stems: dict[str, str] | None = None

    def _exists(self, stem: str) -> bool:
        return (self.final / f'{stem}.png').is_file()

    def stems(self) -> dict[str, str]:
        if self._stems is None:
            try:
                found = json.loads(self.path.read_text()).get('photos', {})
            except (OSError, ValueError, AttributeError):
                found = {}
            # only plain names made by this module: the file is in a folder the user may edit
            self._stems = {str(s): str(k) for s, k in found.items() if isinstance(s, str) and s == Path(s).name
                           and not s.startswith('.') and self._exists(s)}
        return self._stems

    def owner(self, key: str) -> str | None:
        """The entry of ``key``, if its result is still there."""
        return next((s for s, k in self.stems().items() if k == key and self._exists(s)), None)

    def holds(self, stem: str) -> bool:
        return stem in self.stems() and self._exists(stem)

    def set(self, stem: str, key: str) -> None:
        stems = self.stems()
        if stems.get(stem) == key:
            return
        stems.pop(stem, None)
        stems[stem] = key  # the newest last
        while len(stems) > INDEX_SIZE:
            gone = next((s for s in stems if not self._exists(s)), next(iter(stems)))
            del stems[gone]
        self._save()

    def drop(self, stem: str) -> None:
        if self.stems().pop(stem, None) is not None:
            self._save()

    def _save(self) -> None:
        write_bytes_atomic(self.path, json.dumps({'format': 1, 'photos': self.stems()}, indent=1).encode())


class Results:
    """The output folder of one server."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        # names are chosen by the request threads and the worker at once; a save holds it while it claims a name
        self._lock = threading.RLock()
        self.index = EntryIndex(self.root)

    def claim(self, folder: str, name: str) -> Path:
        """A new path ``<root>/<folder>/<name>`` (``name (2).png``, ... if taken), made empty now so that no one
        else takes it."""
        with self._lock, self.writing():
            target = self.root / folder
            target.mkdir(parents=True, exist_ok=True)
            path = free_name(target, name)
            path.touch()
            return path

    @contextlib.contextmanager
    def writing(self):
        """An ``OSError`` while writing to the output folder as one ``OutputError`` line that names the folder."""
        try:
            yield
        except OSError as exc:
            raise OutputError(f'cannot keep the results in {self.root}: {exc.strerror or exc} (make room there, or '
                              'make it writable; the next job will try again)') from None

    def save_photo(self, stem: str | None, name: str, png: bytes, faces: dict, source: Path | None = None,
                   source_png: bytes = b'', parameters: str = '') -> str:
        """The photo's result (and its faces) in its entry: the entry of the same upload (``source``, else its
        decoded ``source_png``) and settings if there is one, else the photo's own from its earlier saves (later
        versions of a photo replace only its own files), else a new one named after it. Returns the stem to pass
        next time."""
        upload = _read(source) or source_png
        key = identity(upload, parameters) if upload else None
        with self._lock:
            stem = self._entry_for(stem, name, key)
        # the batch tool's writer: each file replaced whole (the gallery, listed meanwhile, never sees one half
        # written); the result last, so that once it is there, all of its entry is
        files = {**official_layout(None, [(k, crop, face) for k, (crop, face) in faces.items()]),
                 FINAL.format(name='{name}', tail=''): png}
        with self.writing():
            if upload and not self.source_of(stem):
                data, ext = kept_input(upload, source_png)
                write_bytes_atomic(self.root / SOURCES / f'{stem}{ext}', data)
            thumb = self._thumb_path(f'final_results/{stem}.png')
            self._make_thumb(png, thumb)
            for path in self.faces_of(stem):  # a face left out of this version is no part of the result now
                if path.relative_to(self.root).as_posix() not in {f.format(name=stem) for f in files}:
                    path.unlink(missing_ok=True)
            final = write_results(self.root, stem, files)[-1]
            if thumb.is_file():  # in step with its result: ``thumb`` makes it again only for a newer result
                os.utime(thumb, ns=(final.stat().st_atime_ns, final.stat().st_mtime_ns))
        return stem

    def _entry_for(self, stem: str | None, name: str, key: str | None) -> str:
        """The stem a save goes to (see ``save_photo``), registered under ``key``; a new entry's name is claimed."""
        with self.writing():
            same = self.index.owner(key) if key else None
            if same is not None:
                stem = same
            elif stem is None or (key is not None and not self.index.holds(stem)):  # new, or its entry deleted
                stem = self.claim('final_results', f'{Path(name).stem or "photo"}.png').stem
                for old in self.source_of(stem):  # an input left by a result deleted by hand
                    old.unlink()
            if key:
                self.index.set(stem, key)
        return stem

    def save_file(self, source: Path, relative: str) -> Path:
        """A copy of ``source`` at ``relative`` (a folder and a name made by this server), under a free name; a
        final result gets its thumbnail."""
        folder, _, name = relative.rpartition('/')
        target = self.claim(folder or '.', name)
        try:
            with self.writing():
                shutil.copyfile(source, target)
        except BaseException:
            target.unlink(missing_ok=True)  # no half copy (a full disk) left to be listed
            raise
        if folder == 'final_results':
            self._make_thumb(_read(target), self._thumb_path(f'{folder}/{target.name}'))
        return target

    def _make_thumb(self, data: bytes, thumb: Path) -> None:
        """Best effort: a thumbnail that cannot be made now is made when the gallery first asks for it."""
        with contextlib.suppress(CodeformerError, OSError):
            write_bytes_atomic(thumb, thumbnail(data, str(thumb)))

    def _thumb_path(self, name: str) -> Path:
        return self.root / THUMBS / Path(name).with_suffix('.webp')

    def faces_of(self, stem: str) -> list[Path]:
        """The face files of the entry ``stem`` (``cropped_faces/<stem>_00.png``, ...)."""
        pattern = re.compile(rf'{re.escape(stem)}_\d{{2,}}\.png')
        return [self.root / folder / n for folder in FACE_FOLDERS if (self.root / folder).is_dir()
                for n in os.listdir(self.root / folder) if pattern.fullmatch(n)]

    def source_of(self, stem: str) -> list[Path]:
        """The kept input of the entry ``stem`` (none for a batch's results)."""
        folder = self.root / SOURCES
        return [folder / n for n in os.listdir(folder) if Path(n).stem == stem] if folder.is_dir() else []

    def _entries(self) -> list[dict]:
        found = []
        sources = {Path(n).stem for n in os.listdir(self.root / SOURCES)} if (self.root / SOURCES).is_dir() else set()
        for folder in SHOWN:
            for path in (self.root / folder).glob('*') if (self.root / folder).is_dir() else []:
                if path.name.startswith('.') or not path.is_file():  # a file being written (``.<name>.tmp``)
                    continue
                stat = path.stat()
                if stat.st_size:
                    image = folder != 'videos'
                    found.append({'name': f'{folder}/{path.name}', 'kind': 'image' if image else 'video',
                                  'bytes': stat.st_size, 'time': stat.st_mtime, 'title': path.stem,
                                  'before': image and path.stem in sources})
        return found

    def gallery(self) -> list[dict]:
        """The newest results first: ``name`` (relative to the folder, with ``/``), ``kind``, ``bytes``, ``time``,
        ``title`` and ``before`` (its input is kept)."""
        return sorted(self._entries(), key=lambda g: g['time'], reverse=True)[:GALLERY_SIZE]

    def file(self, name: str | None) -> Path:
        """The file of a gallery entry named ``name``, else a 404."""
        if name not in {g['name'] for g in self.gallery()}:
            raise RequestError('no such result', 404)
        folder, _, base = name.partition('/')
        return self.root / folder / base

    def thumb(self, name: str | None) -> Path:
        """The thumbnail of the gallery entry ``name``, made now if its result is newer (one kept from before)."""
        path = self.file(name)
        if not name.startswith('final_results/'):
            raise RequestError('a video has no thumbnail', 404)
        thumb = self._thumb_path(name)
        if not thumb.is_file() or thumb.stat().st_mtime_ns < path.stat().st_mtime_ns:
            try:
                data = thumbnail(path.read_bytes(), name)
            except (CodeformerError, OSError):
                raise RequestError(f'{name}: cannot make its thumbnail (not an image this server can read)',
                                   404) from None
            with self.writing():
                write_bytes_atomic(thumb, data)
        return thumb

    def source(self, name: str | None) -> Path:
        """The kept input of the gallery entry ``name``, else a 404."""
        path = self.file(name)
        kept = self.source_of(path.stem) if name.startswith('final_results/') else []
        if not kept:
            raise RequestError(f'{name}: no "before" kept (a batch keeps only its results)', 404)
        return kept[0]

    def delete(self, name: str | None) -> str:
        """Move the gallery entry ``name`` and all that belongs to it (faces, thumbnail, input) into a folder of its
        own in ``.trash``, in the output folder's layout; returns that folder, relative to the output folder."""
        with self._lock:
            path = self.file(name)
            moving = [path]
            if name.startswith('final_results/'):
                moving += [*self.faces_of(path.stem), self._thumb_path(name), *self.source_of(path.stem)]
            with self.writing():
                stamp = time.strftime('%Y-%m-%d %H-%M-%S')
                (self.root / TRASH).mkdir(exist_ok=True)
                trash = free_name(self.root / TRASH, f'{path.stem} (deleted {stamp})')
                for item in moving:
                    if item.is_file():
                        target = trash / item.relative_to(self.root)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        item.rename(target)
                self.index.drop(path.stem)
        return trash.relative_to(self.root).as_posix()

    def usage(self) -> dict:
        """How many results there are and what the folder takes (``bytes``, and ``trash_bytes`` in ``.trash``),
        against the free space of its disk (``free_bytes``)."""
        sizes = {False: 0, True: 0}
        for folder, _, names in os.walk(self.root):
            in_trash = Path(folder).relative_to(self.root).parts[:1] == (TRASH,)
            for n in names:
                with contextlib.suppress(OSError):  # a file replaced or moved meanwhile
                    sizes[in_trash] += os.lstat(os.path.join(folder, n)).st_size
        disk = next(p for p in (self.root, *self.root.parents) if p.exists())
        return {'results': len(self._entries()), 'bytes': sizes[False], 'trash_bytes': sizes[True],
                'free_bytes': shutil.disk_usage(disk).free}

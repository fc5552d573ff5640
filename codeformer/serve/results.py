"""Results that stay: every restored photo, batch and video is written to the output folder (``--output_dir``) in
the batch tool's layout (``final_results/``, ``cropped_faces/``, ``restored_faces/``), never over a file that is
there already, and listed as a gallery that survives a reload. Names from the gallery are only looked up in the
listing, never used as paths."""
from __future__ import annotations

import contextlib
import shutil
import threading
from pathlib import Path

from codeformer.errors import CodeformerError
from codeformer.outputs import FINAL, official_layout, write_results
from codeformer.serve.store import RequestError, free_name


class OutputError(CodeformerError):
    """A result could not be written to the output folder (read-only, full, not a folder): one line that says so."""


GALLERY_SIZE = 200  # the newest results listed
SHOWN = ('final_results', 'videos')  # what the gallery lists; the face crops stay beside them


class Results:
    """The output folder of one server."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self._lock = threading.Lock()  # names are chosen by the request threads and the worker at once

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

    def save_photo(self, stem: str | None, name: str, png: bytes, faces: dict) -> str:
        """The photo's result (and its faces) under its own name, chosen on its first save: later versions of the
        same photo replace only its own files. Returns the stem to pass next time."""
        if stem is None:
            stem = self.claim('final_results', f'{Path(name).stem or "photo"}.png').stem
        # the batch tool's writer: each file replaced whole (the gallery, listed meanwhile, never sees one half written)
        files = {FINAL.format(name='{name}', tail=''): png,
                 **official_layout(None, [(k, crop, face) for k, (crop, face) in faces.items()])}
        with self.writing():
            write_results(self.root, stem, files)
        return stem

    def save_file(self, source: Path, relative: str) -> Path:
        """A copy of ``source`` at ``relative`` (a folder and a name made by this server), under a free name."""
        folder, _, name = relative.rpartition('/')
        target = self.claim(folder or '.', name)
        try:
            with self.writing():
                shutil.copyfile(source, target)
        except BaseException:
            target.unlink(missing_ok=True)  # no half copy (a full disk) left to be listed
            raise
        return target

    def gallery(self) -> list[dict]:
        """The newest results first: ``name`` (relative to the folder, with ``/``), ``kind``, ``bytes``, ``time``."""
        found = []
        for folder in SHOWN:
            for path in (self.root / folder).glob('*') if (self.root / folder).is_dir() else []:
                if path.is_file() and path.stat().st_size:
                    stat = path.stat()
                    found.append({'name': f'{folder}/{path.name}', 'kind': 'video' if folder == 'videos' else 'image',
                                  'bytes': stat.st_size, 'time': stat.st_mtime})
        return sorted(found, key=lambda g: g['time'], reverse=True)[:GALLERY_SIZE]

    def file(self, name: str | None) -> Path:
        """The file of a gallery entry named ``name``, else a 404."""
        if name not in {g['name'] for g in self.gallery()}:
            raise RequestError('no such result', 404)
        folder, _, base = name.partition('/')
        return self.root / folder / base

"""The one-photo page: an upload decoded once, its faces detected once per detector (cached), and restorations
made from them with a ``w`` for all faces and for each, the ticked faces only, blended with the photo by the
visibility. The result is the batch tool's own (same ``FaceEnhancer``, same PNG encoder) with the parameters in a
PNG text chunk. The functions here that run networks are called on the worker thread."""
from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codeformer import __version__
from codeformer.serve.session import Models, Settings, check_w
from codeformer.serve.store import Busy, RequestError
from codeformer.serve.worker import STOPPED, Cancel, Pace
from codeformer.utils.image_io import check_pixels, decode_image, encode_image, max_value, read_file, split_channels

THUMB_PAD = 0.25  # a face's thumbnail: its box and this much of its size around it


@dataclass
class Rendered:
    """The latest restoration of a photo."""
    version: int
    png: bytes
    parameters: str
    faces: dict[int, tuple[np.ndarray, np.ndarray]]  # face index -> (aligned crop, restored face)


@dataclass
class Restoring:
    """A restore of a photo on its way, what the page shows while it waits ("2 of 4 faces, about 40 s left"), and
    its ``cancel``: set by Stop or by a newer request for the same photo, read after each network batch."""
    name: str  # the photo's, for the messages
    faces: int = 0  # to restore
    done: int = 0  # restored so far (faces taken from the cache count at once)
    state: str = 'waiting'  # waiting, running, done, stopped, replaced, failed
    started: float | None = None
    finished: float | None = None
    cancel: Cancel = field(default_factory=Cancel)
    pace: Pace | None = None

    def begin(self, faces: int) -> None:
        """The worker has taken it up: ``faces`` to restore. Ends it here if it was stopped while it waited."""
        self.state, self.started, self.faces, self.done = 'running', time.monotonic(), faces, 0
        self.pace = Pace(self.started)
        self.check()

    def advance(self, done: int, faces: int) -> None:
        """After each network batch (``FaceEnhancer.enhance_batch``'s ``on_progress``): the figures, then the end of
        the restore here if it was stopped or replaced meanwhile."""
        self.done, self.faces = done, faces
        self.pace.moved(done, faces, time.monotonic())
        self.check()

    def check(self) -> None:
        """Raise the 409 its request answers if it is to end: stopped (the page shows it) or replaced (the page
        ignores it: a newer request is on its way)."""
        reason = self.cancel.reason
        if reason is None:
            return
        self.end('stopped' if reason == STOPPED else 'replaced')
        if reason == STOPPED:
            raise RequestError(f'{self.name}: stopped after {self.done} of {self.faces} faces; the last finished '
                               'result stays', 409)
        raise RequestError(reason, 409)

    def end(self, state: str) -> None:
        if self.state in ('waiting', 'running'):
            self.state, self.finished = state, time.monotonic()

    def status(self) -> dict:
        now = time.monotonic()
        state = self.state
        if state == 'waiting' and self.cancel.reason is not None:  # ended before the worker took it up
            state = 'stopped' if self.cancel.reason == STOPPED else 'replaced'
        left = self.pace.seconds_left(now) if self.pace is not None and state == 'running' else None
        seconds = ((self.finished or now) - self.started) if self.started is not None else 0.0
        return {'state': state, 'faces': self.faces, 'done': self.done, 'seconds': round(seconds, 2),
                'seconds_left': None if left is None else round(left, 1),
                'stopping': state == 'running' and self.cancel.reason is not None}


@dataclass
class Photo:
    id: str
    name: str
    path: Path
    image: np.ndarray | None = None
    original_png: bytes = b''
    detector: str | None = None
    faces: list = field(default_factory=list)  # as detected, in the photo's pixels
    backgrounds: dict[tuple, np.ndarray] = field(default_factory=dict)  # the result without faces, per settings
    latest: Rendered | None = None
    side: Rendered | None = None  # the latest result at a second w, shown beside the main one
    restoring: Restoring | None = None  # the newest restore asked for (not the side one): its progress
    version: int = 0
    saved: str | None = None  # the stem of its files in the output folder, once saved
    owner: str | None = None  # the client that uploaded it (``http.owner_of``)
    used: float = field(default_factory=time.monotonic)  # when a request last asked for it

    @property
    def stem(self) -> str:
        return Path(self.name).stem or 'photo'


PHOTO_IDLE_S = 120  # a photo no request has asked for in this long may be forgotten for a newer one


class PhotoStore:
    """The photos open on this server (in memory, decoded, with their latest results): at most ``capacity``, and
    ``per_tab`` for one browser tab, which shows only its newest (its older ones are forgotten first). When all
    are taken, a new photo takes the place of one unused for ``idle_s``, else of its own client's oldest; if there
    is neither, it is refused (``Busy``): many clients at once never make each other's photos disappear under
    them. Used from the event loop only."""

    def __init__(self, capacity: int | None = 32, per_tab: int | None = 2, idle_s: float = PHOTO_IDLE_S):
        self.capacity, self.per_tab, self.idle_s = capacity, per_tab, idle_s
        self._photos: OrderedDict[str, Photo] = OrderedDict()  # least recently used first

    def check_room(self, owner: str | None = None) -> None:
        """``Busy`` if a photo from ``owner`` would be refused now (said before its upload is read)."""
        self._make_room(owner, forget=False)

    def add(self, photo: Photo) -> None:
        """Keep ``photo``, forgetting what must go for it (see the class); ``Busy`` if nothing may."""
        self._make_room(photo.owner, forget=True)
        self._photos[photo.id] = photo

    def _make_room(self, owner: str | None, forget: bool) -> None:
        going = []
        if self.per_tab is not None and owner is not None and owner.startswith('tab '):
            own = [p for p in self._photos.values() if p.owner == owner]
            going = own[:max(0, len(own) + 1 - self.per_tab)]
        if self.capacity is not None and len(self._photos) - len(going) >= self.capacity:
            now = time.monotonic()
            rest = [p for p in self._photos.values() if p.id not in {g.id for g in going}]
            idle = [p for p in rest if now - p.used >= self.idle_s]
            own = [p for p in rest if owner is not None and p.owner == owner]
            if not (idle or own):
                raise Busy(f'busy: {len(self._photos)} photos are open on this server (the most it keeps); try '
                           'again in a while', self.idle_s - (now - rest[0].used))
            going.append((idle or own)[0])
        if forget:
            for old in going:
                self._forget(old)

    def _forget(self, photo: Photo) -> None:
        del self._photos[photo.id]
        photo.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            photo.path.parent.rmdir()

    def get(self, token: str) -> Photo:
        photo = self._photos.get(token)
        if photo is None:
            raise RequestError('no such photo (the server forgets old uploads and all uploads when it stops)', 404)
        self._photos.move_to_end(token)
        photo.used = time.monotonic()
        return photo


def load(photo: Photo, max_pixels: int | None) -> dict:
    """Decode the upload (measured from its header first) and keep a PNG of it for the page."""
    data = read_file(photo.path)
    image = decode_image(data, photo.name)
    if max_pixels is not None:
        check_pixels(photo.name, image.shape[1], image.shape[0], max_pixels)
    photo.image = image
    photo.original_png = encode_image(image, what=photo.name)
    return {'width': image.shape[1], 'height': image.shape[0]}


def detect(models: Models, photo: Photo, detector: str) -> list[dict]:
    """The photo's faces for ``detector``, detected once (then cached)."""
    if photo.detector != detector:
        bgr = split_channels(photo.image)[0]
        photo.faces = models.enhancer(Settings(detector=detector, parse=False), cached=True).detect(bgr)
        photo.detector = detector
    return faces_info(photo)


def faces_info(photo: Photo) -> list[dict]:
    out = []
    for i, face in enumerate(photo.faces):
        x0, y0, x1, y1 = (float(v) for v in face.box)
        out.append({'index': i, 'number': i + 1, 'box': [round(v, 1) for v in (x0, y0, x1, y1)],
                    'size': round(max(x1 - x0, y1 - y0), 1), 'score': round(float(face.score), 3)})
    return out


def note(photo: Photo) -> str | None:
    """What to try when the detector found no face: else the page could only say "0 of 0 faces restored"."""
    if photo.faces:
        return None
    return f'No face was found in {photo.name}: try another face detector or a larger photo'


def thumbnail(photo: Photo, index: int) -> np.ndarray:
    """The face's box (with some margin) cut from the photo, before any restoration."""
    if not 0 <= index < len(photo.faces):
        raise RequestError(f'no face {index + 1} in {photo.name}', 404)
    h, w = photo.image.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in photo.faces[index].box)
    pad = THUMB_PAD * max(x1 - x0, y1 - y0)
    xa, ya = max(0, int(x0 - pad)), max(0, int(y0 - pad))
    xb, yb = min(w, int(np.ceil(x1 + pad))), min(h, int(np.ceil(y1 + pad)))
    return photo.image[ya:max(yb, ya + 1), xa:max(xb, xa + 1)]


def blend(restored: np.ndarray, original: np.ndarray, visibility: float) -> np.ndarray:
    """``visibility`` of the restored image over the original (both the result's size and dtype), rounded."""
    if visibility >= 1:
        return restored
    mixed = restored.astype(np.float32) * visibility + original.astype(np.float32) * (1 - visibility)
    return np.clip(np.round(mixed), 0, max_value(restored.dtype)).astype(restored.dtype)


def render(models: Models, photo: Photo, s: Settings, chosen: list[int], face_w: dict[int, float],
           max_pixels: int | None, side: bool = False, restoring: Restoring | None = None) -> dict:
    """Restore the ``chosen`` faces (indices into the detected faces) of ``photo`` with ``s`` and the per-face
    ``face_w``; keep the result as ``photo.latest`` (``side``: as ``photo.side``, the second ``w`` shown beside it,
    which leaves the main result alone). ``restoring``: its progress, updated after each network batch, and its
    Stop (a 409 there; the result before stays). Returns what the page shows of it."""
    restoring = restoring or Restoring(photo.name)
    try:
        return _render(models, photo, s, chosen, face_w, max_pixels, side, restoring)
    finally:
        restoring.end('failed')  # unless it ended otherwise: done, stopped or replaced


def _render(models: Models, photo: Photo, s: Settings, chosen: list[int], face_w: dict[int, float],
            max_pixels: int | None, side: bool, restoring: Restoring) -> dict:
    t0 = time.perf_counter()
    restoring.begin(len(set(chosen)))
    enhancer = models.enhancer(s, cached=True)
    h, w = photo.image.shape[:2]
    out_h, out_w = enhancer.output_size(h, w)
    check_pixels(photo.name, out_w, out_h, max_pixels, 'the result')
    detect(models, photo, s.detector)
    if any(not 0 <= i < len(photo.faces) for i in chosen):
        raise RequestError(f'{photo.name}: no such face (the photo has {len(photo.faces)})')
    chosen = sorted(set(chosen))
    ws = [check_w(face_w.get(i, s.w), f'w of face {i + 1}') for i in chosen]
    faces = [photo.faces[i] for i in chosen]
    network0, sent0 = models.cache.network_seconds, models.cache.network_faces
    restoring.check()
    result = enhancer.enhance_batch([photo.image], faces=[faces], w=[ws], on_progress=restoring.advance)[0]
    network, sent = models.cache.network_seconds - network0, models.cache.network_faces - sent0
    final = result.restored_img
    if s.visibility < 1:
        key = (s.upscale, s.bg_upsampler)
        if key not in photo.backgrounds:  # the same pipeline with no face: the photo as the result shows it
            photo.backgrounds[key] = enhancer.enhance_batch([photo.image], faces=[[]])[0].restored_img
        final = blend(final, photo.backgrounds[key], s.visibility)
    parameters = describe(photo, s, chosen, ws, models.model_name)
    try:  # the batch tool's file (codeformer.outputs), with the parameters in a text chunk as A1111 writes them
        png = encode_image(final, texts={'parameters': parameters})
    except OSError:
        raise RequestError(f'{photo.name}: cannot encode the result as PNG') from None
    photo.version += 1
    rendered = Rendered(photo.version, png, parameters,
                        {i: (crop, face) for i, crop, face in zip(chosen, result.cropped_faces, result.restored_faces)})
    if side:
        photo.side = rendered
    else:
        photo.latest = rendered
    restoring.done = len(chosen)
    restoring.end('done')
    return {'version': photo.version, 'side': side, 'width': final.shape[1], 'height': final.shape[0],
            'parameters': parameters, 'restored': chosen, 'faces': faces_info(photo), 'note': note(photo),
            'network_faces': sent,
            'seconds': {'network': round(network, 4), 'total': round(time.perf_counter() - t0, 4)}}


def describe(photo: Photo, s: Settings, chosen: list[int], ws: list[float], model: str | None) -> str:
    """The parameters line written into the PNG (key ``parameters``, as AUTOMATIC1111 writes its infotext)."""
    n = len(photo.faces)
    text = f'CodeFormer face restoration; {s.describe()}; '
    text += f'faces: {", ".join(str(i + 1) for i in chosen) or "none"} of {n}'
    own = [f'face {i + 1} w: {v:g}' for i, v in zip(chosen, ws) if v != s.w]
    if own:
        text += '; ' + ', '.join(own)
    text += f'; model: {model or "released"}; codeformer {__version__}; source: {photo.name}'
    if len(chosen) == n and not own and s.visibility == 1:
        text += f'; same as: {s.command(model)}'
    return text

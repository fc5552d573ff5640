"""The networks of one server, loaded once and shared by every request and job: one ``FaceRestorer``, each
detector, the parser and the background upsampler built on first use; a ``FaceEnhancer`` per combination of
settings on top of them; and a cache of restored faces and of their parsing masks, so that changing one face's
``w`` (or the visibility, or which faces are ticked) runs the networks only on faces it has not restored with that
``w`` yet.

Only the worker thread (``codeformer.serve.worker``) calls into the networks."""
from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from codeformer import settings
from codeformer.enhancer import FaceEnhancer
from codeformer.errors import InvalidOption, about
from codeformer.restorer import FaceRestorer
from codeformer.serve.store import RequestError
from codeformer.settings import PhotoSettings


@dataclass(frozen=True)
class Settings(PhotoSettings):
    """What the page's controls choose for a restoration (everything but which faces and their own ``w``): the
    library's ``PhotoSettings``, checked as the command line's are, and how much of the restored faces shows."""
    visibility: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, 'visibility', settings.checked(settings.number(float, 0, 1), self.visibility,
                                                                'visibility'))

    @classmethod
    def from_request(cls, data: dict, defaults: Settings) -> Settings:
        """Settings from a request's JSON over ``defaults``, a bad value a one-line ``RequestError`` in the page's
        words with the library's reason."""
        values = asdict(defaults)
        for key in values:
            if key in data and data[key] is not None:
                values[key] = data[key]
            elif key in data and key == 'bg_upsampler':
                values[key] = None
        with page_words():
            return cls(w=values['w'], upscale=values['upscale'], detector=str(values['detector']),
                       parse=bool(values['parse']), bg_upsampler=values['bg_upsampler'] or None,
                       face_upsample=bool(values['face_upsample']), visibility=values['visibility'])

    def describe(self) -> str:
        return (f'w: {self.w:g}, upscale: {self.upscale}, detector: {self.detector}, parse: {_yes(self.parse)}, '
                f'background upsampler: {self.bg_upsampler or "none"}, face upsample: {_yes(self.face_upsample)}, '
                f'visibility: {self.visibility:g}')

    def command(self, model: str | None) -> str:
        """The batch tool's command that gives the same result for all faces at this ``w`` and full visibility."""
        parts = ['codeformer restore', f'-w {self.w:g}', f'-s {self.upscale}', f'--detection_model {self.detector}']
        if not self.parse:
            parts.append('--no_parse')
        if self.bg_upsampler:
            parts.append(f'--bg_upsampler {self.bg_upsampler}')
        if self.face_upsample:
            parts.append('--face_upsample')
        if model:
            parts.append(f'--model_path {model}')
        return ' '.join(parts)


def _yes(flag: bool) -> str:
    return 'yes' if flag else 'no'


# The library's arguments as the page's fields name them.
PAGE_FIELDS = {'detection_model': 'detector'}


@contextmanager
def page_words() -> Iterator[None]:
    """The library's ``InvalidOption`` as the page says it: ``detector 'nope': unknown detector; known: ...``,
    ``w: must be in [0, 1], got 2.0``."""
    try:
        yield
    except InvalidOption as exc:
        field = PAGE_FIELDS.get(exc.argument, exc.argument)
        said = 'got ' in exc.reason or exc.reason.endswith(repr(exc.value))
        subject = field if said else f'{field} {exc.value!r}'  # the value said once
        raise RequestError(about(subject, exc.reason) if field else exc.reason) from None


def check_w(value: object, what: str) -> float:
    """A face's own ``w``, checked as the library checks every ``w``."""
    with page_words():
        return settings.checked(settings.fidelity_weight, value, what)


class FaceCache:
    """A ``FaceRestorer`` that remembers its last ``capacity`` restored faces by (crop, w): the same aligned crop at
    the same ``w`` is not sent through the network again. ``network_seconds`` and ``network_faces`` add up the time
    spent in it and the faces sent."""

    def __init__(self, restorer: FaceRestorer, capacity: int = 64):
        self._restorer = restorer
        self._faces: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.capacity = capacity
        self.network_seconds = 0.0
        self.network_faces = 0

    # what ``FaceEnhancer`` reads of its restorer, the wrapped one's
    @property
    def device(self):
        return self._restorer.device

    @property
    def dtype(self):
        return self._restorer.dtype

    @property
    def batch_size(self) -> int:
        return self._restorer.batch_size

    @property
    def w(self) -> float:
        return self._restorer.w

    picks_codes = False  # faces are kept by (crop, w): codes picked with memory of earlier frames are not

    def restore_faces(self, faces: list[np.ndarray], w: float | Sequence[float] | None = None,
                      on_progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
        """As ``FaceRestorer.restore_faces``; only the faces not in the cache go through the network (the cached
        ones count as restored at once for ``on_progress``)."""
        ws = self._restorer.weights_for(len(faces), w)
        keys = [(*_face_key(f), v) for f, v in zip(faces, ws)]
        missing = [i for i, k in enumerate(keys) if k not in self._faces]
        cached = len(faces) - len(missing)
        if on_progress is not None and not missing:
            on_progress(len(faces), len(faces))
        if missing:
            t0 = time.perf_counter()
            relay = None if on_progress is None else (lambda done, _: on_progress(cached + done, len(faces)))
            done = self._restorer.restore_faces([faces[i] for i in missing], w=[ws[i] for i in missing],
                                                on_progress=relay)
            self.network_seconds += time.perf_counter() - t0
            self.network_faces += len(missing)
            for i, face in zip(missing, done):
                self._faces[keys[i]] = face
        return _recent(self._faces, keys, self.capacity)


def _face_key(face: np.ndarray) -> tuple:
    return hashlib.blake2b(face.tobytes(), digest_size=16).digest(), face.shape, face.dtype.str


def _recent(cache: OrderedDict, keys: list, capacity: int) -> list:
    """The cached values for ``keys``, marked as the most recently used; the oldest beyond ``capacity`` go."""
    out = []
    for k in keys:
        cache.move_to_end(k)
        out.append(cache[k])
    while len(cache) > capacity:
        cache.popitem(last=False)
    return out


class MaskCache:
    """A face parser that remembers the masks of its last ``capacity`` restored faces: a visibility change or a
    face ticked or unticked pastes the same restored faces again, so it needs no parsing at all.
    ``make_parser`` builds the real parser on first use; ``parsed_faces`` counts the faces really parsed."""

    def __init__(self, make_parser, capacity: int = 64):
        self._make_parser, self._parser = make_parser, None
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.capacity = capacity
        self.parsed_faces = 0

    @property
    def parser(self):
        if self._parser is None:
            self._parser = self._make_parser()
        return self._parser

    def masks(self, faces: list[np.ndarray]) -> list[np.ndarray]:
        """As ``FaceParser.masks``; only faces not seen lately are parsed."""
        keys = [_face_key(f) for f in faces]
        missing = [i for i, k in enumerate(keys) if k not in self._masks]
        if missing:
            for i, mask in zip(missing, self.parser.masks([faces[i] for i in missing])):
                self._masks[keys[i]] = mask
            self.parsed_faces += len(missing)
        return _recent(self._masks, keys, self.capacity)


class Models:
    """The networks of one server and the enhancers built on them."""

    def __init__(self, restorer: FaceRestorer, model_name: str | None = None, min_eye_distance: float = 5.0):
        self.restorer = restorer
        self.cache = FaceCache(restorer)
        self.masks = MaskCache(lambda: self._helpers.parser)
        self.model_name = model_name
        self.min_eye_distance = min_eye_distance
        self._helpers = FaceEnhancer(restorer, detection_model='mtcnn', use_parse=True, bg_upsampler='realesrgan',
                                     progress=False)
        self._detectors: dict[str, object] = {}
        self._enhancers: dict[tuple, FaceEnhancer] = {}

    def detector(self, name: str):
        if name not in self._detectors:
            self._detectors[name] = FaceEnhancer(self.restorer, detection_model=name, progress=False).detector
        return self._detectors[name]

    def _parser(self, parse: bool, cached: bool):
        """The parser for an enhancer: the one that remembers masks for the photo page, else the plain one."""
        if not parse:
            return None
        return self.masks if cached else self._helpers.parser

    def enhancer(self, s: Settings, cached: bool = False) -> FaceEnhancer:
        """The ``FaceEnhancer`` for ``s`` (``cached``: on the restorer that remembers faces, for the photo page)."""
        key = (s.upscale, s.detector, s.parse, s.bg_upsampler, s.face_upsample, cached)
        if key not in self._enhancers:
            # one Real-ESRGAN for the background and the faces, as the official script shares one
            upsampler = self._helpers.bg_upsampler if (s.bg_upsampler or s.face_upsample) else None
            self._enhancers[key] = FaceEnhancer(
                self.cache if cached else self.restorer, upscale=s.upscale, detection_model=self.detector(s.detector),
                use_parse=s.parse, parser=self._parser(s.parse, cached),
                bg_upsampler=upsampler if s.bg_upsampler else None, face_upsample=s.face_upsample,
                face_upsampler=upsampler, min_eye_distance=self.min_eye_distance, progress=False)
        return self._enhancers[key]

"""The values every front end takes, checked once and here: the number parsers (a value within a range, from text or
from a number), and ``PhotoSettings``, what the pipeline does to a whole photo, named for what things are. Errors are
the library's ``InvalidOption`` (argument, value, reason): the command line words them as its options
(``--detection_model nope: unknown detector; ...``), the web page as its fields (``detector 'nope': ...``), the
reason the same in both."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codeformer.errors import InvalidOption

MAX_UPSCALE = 16


def number(kind: type, low: float | None = None, high: float | None = None,
           above: float | None = None) -> Callable[[object], float]:
    """A parser of text or numbers: ``kind`` (int or float) within [low, high], or greater than ``above``; else an
    ``InvalidOption`` saying what is wanted (a whole number given as 2.5 is refused, not truncated)."""
    def parse(given: object):
        value = _as(kind, given)
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f'in [{low}, {high}]' if high is not None else f'{low} or more'
            raise InvalidOption(f'must be {bounds}, got {value}')
        if above is not None and not value > above:
            raise InvalidOption(f'must be more than {above}, got {value}')
        return value
    parse.__name__ = kind.__name__
    return parse


def _as(kind: type, given: object) -> float:
    wanted = 'whole number' if kind is int else 'number'
    if isinstance(given, bool) or not isinstance(given, (str, int, float)):
        raise InvalidOption(f'not a {wanted}: {given!r}')
    if kind is int and isinstance(given, float):
        if not given.is_integer():
            raise InvalidOption(f'not a {wanted}: {given!r}')
        return int(given)
    try:
        value = kind(given)
    except (ValueError, OverflowError):
        raise InvalidOption(f'not a {wanted}: {given!r}') from None
    if value != value or value in (float('inf'), float('-inf')):
        raise InvalidOption(f'not a {wanted}: {given!r}')
    return value


fidelity_weight = number(float, 0, 1)
upscale_value = number(int, 1, MAX_UPSCALE)
positive_int = number(int, 1)
positive_float = number(float, above=0)
crf_value = number(int, 0, 51)
non_negative_int = number(int, 0)
non_negative_float = number(float, 0)
port_number = number(int, 0, 65535)


def on_off(text: str) -> bool:
    """``on`` or ``off`` (as a switch whose default is on is written: ``--temporal off``)."""
    if text.lower() not in ('on', 'off'):
        raise InvalidOption(f'choose on or off, got {text!r}')
    return text.lower() == 'on'


def checked(parse: Callable[[object], float], value: object, argument: str) -> float:
    """``parse(value)``, its ``InvalidOption`` naming ``argument`` and the value."""
    try:
        return parse(value)
    except InvalidOption as exc:
        raise InvalidOption(exc.reason, argument, value) from None


@dataclass(frozen=True)
class PhotoSettings:
    """What the pipeline does to a whole photo: each value checked when made (``InvalidOption`` naming the library's
    argument: ``w``, ``upscale``, ``detection_model``, ``bg_upsampler``)."""
    w: float = 0.5
    upscale: int = 2
    detector: str = 'retinaface_resnet50'
    parse: bool = True
    bg_upsampler: str | None = None
    face_upsample: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, 'w', checked(fidelity_weight, self.w, 'w'))
        object.__setattr__(self, 'upscale', check_pipeline(self.upscale, self.detector, self.bg_upsampler))


def check_pipeline(upscale: object, detector: str | None, bg_upsampler: str | None) -> int:
    """The checks of what the pipeline does to a photo, shared by every front end: the upscale (returned as a whole
    number), the detector (None: none is used) and the background upsampler by their registries."""
    from codeformer.detection import DETECTORS
    from codeformer.upsamplers import UPSAMPLERS
    value = checked(upscale_value, upscale, 'upscale')
    if detector is not None:
        DETECTORS.check(detector)
    if bg_upsampler is not None:
        UPSAMPLERS.check(bg_upsampler)
    return value

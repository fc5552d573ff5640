"""What a restore, colorize or inpaint run is asked to do (``RunOptions``), and the checked values every front end
accepts (numbers in a range), so that the command line and the web page refuse the same things in the same words."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

from codeformer.errors import InvalidOption
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS

__all__ = ['DEFAULT_MAX_PIXELS', 'MAX_PIXELS_HELP', 'PRECISION_HELP', 'RunOptions', 'number']

MAX_UPSCALE = 16
COMMANDS = {'restore': 'restoration', 'colorize': 'colorization', 'inpaint': 'inpainting'}  # -> FaceRestorer task

PRECISION_HELP = ('auto: codes chosen in fp32 and the decoder in bf16 (bf16-split) on CUDA and on CPUs with native '
                  'bf16 (AVX512-BF16, AMX), fp32 elsewhere; bf16/fp16: every convolution in it (faster, some codes '
                  'change); the transformer and codebook stay fp32 always')
MAX_PIXELS_HELP = ('refuse, from its header and before decoding, an image (or video frame) with more pixels than '
                   f'this, or whose result would have more (default: {DEFAULT_MAX_PIXELS}, Pillow\'s limit: 537 MB as '
                   '8-bit colour)')


def number(kind: type, low: float | None = None, high: float | None = None,
           above: float | None = None) -> Callable[[str], float]:
    """A parser of text: ``kind`` (int or float) within [low, high], or greater than ``above``; else an
    ``InvalidOption`` saying what is wanted."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise InvalidOption(f'not a {"whole number" if kind is int else "number"}: {text!r}') from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f'in [{low}, {high}]' if high is not None else f'{low} or more'
            raise InvalidOption(f'must be {bounds}, got {value}')
        if above is not None and not value > above:
            raise InvalidOption(f'must be more than {above}, got {value}')
        return value
    parse.__name__ = kind.__name__
    return parse


fidelity_weight = number(float, 0, 1)
positive_int = number(int, 1)
positive_float = number(float, above=0)
crf_value = number(int, 0, 51)
non_negative_int = number(int, 0)
non_negative_float = number(float, 0)
upscale_value = number(int, 1, MAX_UPSCALE)
port_number = number(int, 0, 65535)


def on_off(text: str) -> bool:
    """``on`` or ``off`` (as a switch whose default is on is written: ``--temporal off``)."""
    if text.lower() not in ('on', 'off'):
        raise InvalidOption(f'choose on or off, got {text!r}')
    return text.lower() == 'on'


@dataclass
class RunOptions:
    """One run of ``restore``, ``colorize`` or ``inpaint``; field names are the command line's option names."""
    command: str = 'restore'  # a key of COMMANDS
    input_path: str = 'inputs/whole_imgs'
    output_path: str | None = None  # default: results/<input name>[_<w>]
    fidelity_weight: float | None = None  # restoration's w (None for colorize and inpaint, whose w is fixed)
    has_aligned: bool = False
    suffix: str | None = None
    model_path: str | None = None
    batch_size: int | None = None  # None: the restorer's own choice for the device
    device: str = 'auto'
    precision: str = 'auto'
    compile: bool = False  # torch.compile the network (runtime.compile_network)
    backend: str = 'pytorch'
    onnx_path: str | None = None
    skip_existing: bool = False
    report: str | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    shard: object = None  # a codeformer.batch.shards.Shard, 'auto' or None
    ray: str | None = None  # None: local; '': the running (or a new local) cluster; else its address
    ray_actors: int | None = None
    quiet: bool = False
    # whole photos
    upscale: int = 2
    detection_model: str = 'retinaface_resnet50'
    only_center_face: bool = False
    min_eye_distance: float = 5.0
    draw_box: bool = False
    no_parse: bool = False
    bg_upsampler: str | None = None
    face_upsample: bool = False
    bg_tile: int = 400
    # videos
    save_video_fps: float | None = None
    crf: int = 18
    no_smooth: bool = False
    detect_every: int = 1
    save_frames: bool = False
    temporal: bool = True  # carry each tracked face's codes across frames (codeformer.video.temporal)
    # inpainting
    mask: str | None = None

    @property
    def whole_photos(self) -> bool:
        return self.command == 'restore' and not self.has_aligned

    @classmethod
    def of(cls, values: object, **changes) -> RunOptions:
        """The options from any object with these names as attributes (a parsed command line), ``changes`` on top."""
        names = [f.name for f in fields(cls)]
        found = {n: getattr(values, n) for n in names if hasattr(values, n)}
        return cls(**{**found, **changes})

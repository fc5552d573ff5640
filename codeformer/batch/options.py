"""What a restore, colorize or inpaint run is asked to do (``RunOptions``): settings named for what they are, in
groups (the network, the pipeline, videos, inputs and outputs, scale), each checked once when made with the library's
checks (``codeformer.settings``), which the web page uses too. The command line maps its flags onto them."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from codeformer import settings
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS

__all__ = ['DEFAULT_MAX_PIXELS', 'MAX_PIXELS_HELP', 'PRECISION_HELP', 'RunOptions']
COMMANDS = {'restore': 'restoration', 'colorize': 'colorization', 'inpaint': 'inpainting'}  # -> FaceRestorer task

PRECISION_HELP = ('auto: codes chosen in fp32 and the decoder in bf16 (bf16-split) on CUDA and on CPUs with native '
                  'bf16 (AVX512-BF16, AMX), fp32 elsewhere; bf16/fp16: every convolution in it (faster, some codes '
                  'change); the transformer and codebook stay fp32 always')
MAX_PIXELS_HELP = ('refuse, from its header and before decoding, an image (or video frame) with more pixels than '
                   f'this, or whose result would have more (default: {DEFAULT_MAX_PIXELS}, Pillow\'s limit: 537 MB as '
                   '8-bit colour)')


@dataclass(frozen=True)
class NetworkSettings:
    """What runs the network, and how."""
    w: float | None = None  # restoration's fidelity weight (None: 0.5; colorize and inpaint have their own)
    model_path: str | None = None  # a checkpoint instead of the released one
    device: str = 'auto'
    precision: str = 'auto'
    compile: bool = False  # torch.compile the network (runtime.compile_network)
    backend: str = 'pytorch'
    onnx_path: str | None = None
    batch_size: int | None = None  # None: the restorer's own choice for the device

    def __post_init__(self) -> None:
        from codeformer.backends import BACKENDS
        from codeformer.errors import InvalidOption
        from codeformer.precisions import PRECISIONS
        if self.w is not None:
            object.__setattr__(self, 'w', settings.checked(settings.fidelity_weight, self.w, 'w'))
        if self.batch_size is not None:
            settings.checked(settings.positive_int, self.batch_size, 'batch_size')
        if self.precision not in PRECISIONS:
            raise InvalidOption(f'choose from {", ".join(PRECISIONS)}', 'precision', self.precision)
        BACKENDS.check(self.backend)


@dataclass(frozen=True)
class PipelineSettings:
    """What is done to each photo around the network."""
    aligned: bool = False  # the inputs are aligned face crops (no detection, no paste-back)
    upscale: int = 2
    detector: str = 'retinaface_resnet50'
    only_center_face: bool = False
    min_eye_distance: float = 5.0
    draw_box: bool = False
    parse: bool = True  # paste with a face-parsing mask (else the feathered square)
    bg_upsampler: str | None = None
    face_upsample: bool = False
    bg_tile: int = 400
    mask: str | None = None  # inpainting: the mask image, or a folder of masks named like the inputs

    def __post_init__(self) -> None:
        upscale = settings.check_pipeline(self.upscale, None if self.aligned else self.detector, self.bg_upsampler)
        object.__setattr__(self, 'upscale', upscale)
        settings.checked(settings.non_negative_float, self.min_eye_distance, 'min_eye_distance')
        settings.checked(settings.non_negative_int, self.bg_tile, 'bg_tile')


@dataclass(frozen=True)
class VideoSettings:
    """How videos are written and their faces followed."""
    fps: float | None = None  # None: the input's timing, frame by frame
    crf: int = 18
    smooth: bool = True  # track faces and smooth their landmarks over time
    detect_every: int = 1
    save_frames: bool = False
    temporal: bool = True  # carry each tracked face's codes across frames (codeformer.video.temporal)

    def __post_init__(self) -> None:
        if self.fps is not None:
            settings.checked(settings.positive_float, self.fps, 'fps')
        settings.checked(settings.crf_value, self.crf, 'crf')
        settings.checked(settings.positive_int, self.detect_every, 'detect_every')


@dataclass(frozen=True)
class OutputSettings:
    """What is read and where the results go."""
    input_path: str = 'inputs/whole_imgs'
    output_path: str | None = None  # default: results/<input name>[_<w>]
    suffix: str | None = None
    skip_existing: bool = False
    report: str | None = None  # a JSON report of every input
    max_pixels: int | None = DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class ScaleSettings:
    """How a run is spread beyond one process."""
    shard: object = None  # a codeformer.batch.shards.Shard, 'auto' or None
    ray: str | None = None  # None: local; '': the running (or a new local) cluster; else its address
    ray_actors: int | None = None


@dataclass(frozen=True)
class RunOptions:
    """One run of ``restore``, ``colorize`` or ``inpaint``: its settings in groups, each checked when made (the
    library's ``InvalidOption``, which every front end words its own way)."""
    command: str = 'restore'  # a key of COMMANDS
    network: NetworkSettings = NetworkSettings()
    pipeline: PipelineSettings = PipelineSettings()
    video: VideoSettings = VideoSettings()
    output: OutputSettings = OutputSettings()
    scale: ScaleSettings = ScaleSettings()
    quiet: bool = False

    @property
    def whole_photos(self) -> bool:
        return self.command == 'restore' and not self.pipeline.aligned

    def but(self, **groups: dict) -> RunOptions:
        """A copy with some fields of some groups changed: ``options.but(network={'device': 'cpu'})``."""
        changed = {name: dataclasses.replace(getattr(self, name), **values) for name, values in groups.items()}
        return dataclasses.replace(self, **changed)

"""What a restore, colorize or inpaint run is asked to do (``RunOptions``); the values' checks are the library's
(``codeformer.settings``), which the web page uses too."""
from __future__ import annotations

from dataclasses import dataclass, fields

from codeformer.utils.image_io import DEFAULT_MAX_PIXELS

__all__ = ['DEFAULT_MAX_PIXELS', 'MAX_PIXELS_HELP', 'PRECISION_HELP', 'RunOptions']
COMMANDS = {'restore': 'restoration', 'colorize': 'colorization', 'inpaint': 'inpainting'}  # -> FaceRestorer task

PRECISION_HELP = ('auto: codes chosen in fp32 and the decoder in bf16 (bf16-split) on CUDA and on CPUs with native '
                  'bf16 (AVX512-BF16, AMX), fp32 elsewhere; bf16/fp16: every convolution in it (faster, some codes '
                  'change); the transformer and codebook stay fp32 always')
MAX_PIXELS_HELP = ('refuse, from its header and before decoding, an image (or video frame) with more pixels than '
                   f'this, or whose result would have more (default: {DEFAULT_MAX_PIXELS}, Pillow\'s limit: 537 MB as '
                   '8-bit colour)')


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

"""Command-line options: one set shared by the three front doors, plus each one's own; and those of the
``download`` and ``crop`` commands."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from codeformer import __version__, settings
from codeformer.backends import BACKENDS
from codeformer.batch.options import MAX_PIXELS_HELP, PRECISION_HELP
from codeformer.batch.shards import parse_shard
from codeformer.detection import DETECTORS
from codeformer.errors import CodeformerError, InvalidOption, about
from codeformer.precisions import PRECISIONS
from codeformer.upsamplers import UPSAMPLERS
from codeformer.utils.image_io import DEFAULT_MAX_PIXELS


def checked(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from one of ``codeformer.settings``' parsers: its ``InvalidOption`` as argparse's error."""
    def convert(text: str):
        try:
            return parse(text)
        except InvalidOption as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = parse.__name__
    return convert


def number(kind: type, low: float | None = None, high: float | None = None, above: float | None = None):
    return checked(settings.number(kind, low, high, above))


fidelity_weight = checked(settings.fidelity_weight)
upscale_value = checked(settings.upscale_value)
positive_int = checked(settings.positive_int)
positive_float = checked(settings.positive_float)
crf_value = checked(settings.crf_value)
non_negative_int = checked(settings.non_negative_int)
non_negative_float = checked(settings.non_negative_float)
shard_option = checked(parse_shard)
on_off = checked(settings.on_off)

# Library arguments that the command line names otherwise (any other ``name`` is ``--name``).
FLAGS = {'w': '-w', 'use_parse': '--no_parse', 'masks': '--mask'}


def as_flags(exc: CodeformerError) -> str:
    """A library error about one of its arguments (``device='cuda': ...``) in the command line's words
    (``--device cuda: ...``); any other error as it is."""
    if exc.argument is None:
        return str(exc)
    flag = FLAGS.get(exc.argument, f'--{exc.argument}')
    value = '' if exc.value is True or exc.value in ('', None) else f' {exc.value}'
    return about(f'{flag}{value}', exc.reason)


def add_common_options(parser: argparse.ArgumentParser, default_input: str) -> None:
    """Options every front door has."""
    parser.add_argument('-i', '--input_path', default=default_input,
                        help=f'an image, a video or a folder of them (default: {default_input})')
    parser.add_argument('-o', '--output_path', default=None,
                        help='results folder (default: results/<input name>[_<w>])')
    parser.add_argument('--suffix', default=None, help='suffix appended to the restored faces\' names')
    parser.add_argument('--model_path', default=None,
                        help='a compatible checkpoint to use instead of the released one')
    parser.add_argument('--batch_size', type=positive_int, default=None,
                        help='faces per network call (default: 1 on the CPU, where batching does not help; '
                             'on a GPU as many as fit in its free memory)')
    parser.add_argument('--device', default='auto', help='auto (default), cpu, cuda, cuda:N or mps')
    add_precision(parser)
    parser.add_argument('--backend', default='pytorch',
                        help=f'what runs the network: {BACKENDS.described("pytorch")}; onnxruntime runs an ONNX '
                             'export (made beside the weights on first use, or --onnx_path)')
    parser.add_argument('--onnx_path', default=None, help='the ONNX file for --backend onnxruntime')
    parser.add_argument('--skip_existing', action='store_true',
                        help='leave inputs whose results exist already (resume a stopped batch)')
    parser.add_argument('--report', default=None, metavar='FILE.json',
                        help='write a JSON report: per input its outputs, faces, timings and any error')
    add_max_pixels(parser)
    add_scale_out_options(parser)
    parser.add_argument('-q', '--quiet', action='store_true', help='no progress bar or summary')
    parser.add_argument('--version', action='version', version=f'codeformer {__version__}')


def add_precision(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--precision', choices=PRECISIONS, default='auto', help=PRECISION_HELP)
    parser.add_argument('--fp32', action='store_true', help='the same as --precision fp32')
    parser.add_argument('--compile', action='store_true',
                        help='compile the network with torch.compile: the first run compiles (a minute or more on '
                             'a CPU), later runs read the result from the cache (~/.cache/codeformer/inductor)')


def precision_of(args: argparse.Namespace) -> str:
    return 'fp32' if args.fp32 else args.precision


def add_max_pixels(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--max_pixels', type=positive_int, default=DEFAULT_MAX_PIXELS, metavar='N',
                        help=MAX_PIXELS_HELP)


def add_scale_out_options(parser: argparse.ArgumentParser) -> None:
    """Beyond one process: a shard of the inputs, or a Ray cluster."""
    group = parser.add_argument_group('beyond one machine (see README: Restoring archives beyond one machine)')
    where = group.add_mutually_exclusive_group()
    where.add_argument('--shard', type=shard_option, default=None, metavar='K/N|auto',
                       help='restore only shard K of N (counted from 0; a file always lands in the same shard); '
                            'auto: from RANK/WORLD_SIZE (torchrun) or SLURM_PROCID/SLURM_NTASKS. --report FILE '
                            'becomes FILE.K-of-N.json; join them with codeformer merge-reports')
    where.add_argument('--ray', nargs='?', const='', default=None, metavar='ADDRESS',
                       help='run on a Ray cluster (pip install codeformer[ray]): the running one (ray start), or '
                            'the one at ADDRESS, or else a new one on this machine; outputs go to -o, which every '
                            'node must see')
    group.add_argument('--ray_actors', type=positive_int, default=None, metavar='N',
                       help='with --ray: how many actors restore at once (default: one per GPU, or one per node '
                            'on a cluster without GPUs)')


def restore_parser(prog: str = 'inference_codeformer.py') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description='Restore faces with CodeFormer.')
    add_common_options(parser, 'inputs/whole_imgs')
    parser.add_argument('-w', '--fidelity_weight', type=fidelity_weight, default=0.5,
                        help='balance quality (0) and fidelity to the input (1); default 0.5')
    parser.add_argument('--has_aligned', action='store_true', help='inputs are aligned 512x512 face crops')
    parser.add_argument('-s', '--upscale', type=upscale_value, default=2,
                        help=f'output size relative to the input, a whole number from 1 to {settings.MAX_UPSCALE} '
                             '(default: 2)')
    parser.add_argument('--detection_model', default='retinaface_resnet50',
                        help=f'face detector: {DETECTORS.described("retinaface_resnet50")} (see README)')
    parser.add_argument('--only_center_face', action='store_true', help='restore only the face nearest the centre')
    parser.add_argument('--min_eye_distance', type=non_negative_float, default=5.0,
                        help='ignore faces whose eyes are closer than this many input pixels (default: 5)')
    parser.add_argument('--draw_box', action='store_true', help='outline the restored faces in the result')
    parser.add_argument('--no_parse', action='store_true',
                        help='paste faces back with a feathered square instead of a face-parsing mask')
    parser.add_argument('--bg_upsampler', default=None,
                        help=f'upsample the background: {UPSAMPLERS.described()} (slow on the CPU)')
    parser.add_argument('--face_upsample', action='store_true',
                        help='upsample the restored faces with Real-ESRGAN before pasting them (the background '
                             'upsampler\'s, or one of their own without --bg_upsampler)')
    parser.add_argument('--bg_tile', type=non_negative_int, default=400,
                        help='tile size for the background upsampler, 0 for none (default: 400)')
    add_video_options(parser)
    return parser


# -- videos (restore only) ---------------------------------------------------------------------------------------


def add_video_options(parser: argparse.ArgumentParser) -> None:
    """Options for videos given as (or found in) --input_path."""
    group = parser.add_argument_group('videos (mp4, mov, avi, mkv, webm; written as H.264 MP4 with the audio)')
    group.add_argument('--save_video_fps', type=positive_float, default=None, metavar='FPS',
                       help="frame rate of the output (default: the input's timing, kept frame by frame)")
    group.add_argument('--crf', type=crf_value, default=18,
                       help='H.264 quality, 0 (lossless) to 51 (worst); 18 (default) looks like the input')
    group.add_argument('--no_smooth', action='store_true',
                       help='align each frame on its own detections (default: faces are tracked and their '
                            'landmarks smoothed over time, which keeps restored faces from flickering)')
    group.add_argument('--detect_every', type=positive_int, default=1, metavar='N',
                       help='run the face detector on every N-th frame only and follow faces by optical flow '
                            'in between (faster; default: 1, every frame)')
    group.add_argument('--save_frames', action='store_true',
                       help='also write each frame as PNG (final_results/, cropped_faces/, restored_faces/)')
    group.add_argument('--temporal', type=on_off, default=True, metavar='on|off',
                       help='on (default): each tracked face keeps its codes from frame to frame unless the new '
                            'frame clearly wants others, so eyes, teeth and skin do not flicker (reset at shot '
                            'cuts); off: every frame restored on its own')


def colorize_parser(prog: str = 'inference_colorization.py') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description='Colorize aligned black-and-white or faded faces.')
    add_common_options(parser, 'inputs/gray_faces')
    return parser


def inpaint_parser(prog: str = 'inference_inpainting.py') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description='Inpaint regions of aligned faces painted pure white.')
    add_common_options(parser, 'inputs/masked_faces')
    parser.add_argument('--mask', default=None, metavar='PATH|FOLDER',
                        help='the regions to fill as a separate mask image (white = fill), or a folder of masks '
                             'named like the inputs; default: the pixels painted pure white')
    return parser


def download_parser(prog: str | None, sets: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description='Download the released weight files into weights/<group>/ (or $CODEFORMER_WEIGHTS_DIR/<group>/). '
                    'CodeFormer: the three inference models; CodeFormer_train: vqgan, stage 2 and latent codes.')
    parser.add_argument('sets', nargs='+', choices=sets, metavar='SET', help=f'one or more of: {", ".join(sets)}')
    parser.add_argument('--force', action='store_true', help='download again even if the file is present')
    parser.add_argument('-q', '--quiet', action='store_true', help='no progress bar')
    return parser


def export_onnx_parser(prog: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description='Export CodeFormer to ONNX with inputs input (Bx3x512x512, RGB in [-1, 1]) and weight '
                               '(the fidelity w per face), output output; checked in onnxruntime afterwards. The '
                               'file is derived from your downloaded weights: keep it on your machine.')
    parser.add_argument('--model_path', default=None, help='checkpoint to export (default: the released one)')
    parser.add_argument('-o', '--output', default='codeformer.onnx', help='the ONNX file (default: codeformer.onnx)')
    parser.add_argument('--opset', type=number(int, 18, 30), default=18, help='ONNX opset (default: 18)')
    parser.add_argument('--fp16', action='store_true', help='half-precision weights and inputs (for GPU runtimes)')
    parser.add_argument('--no_check', action='store_true', help='skip the onnxruntime check after export')
    parser.add_argument('-q', '--quiet', action='store_true', help='no download progress')
    return parser


def crop_parser(prog: str, min_size_default: float, sidecars: bool) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description='Crop and align the faces of photos to 512x512.')
    ap.add_argument('-i', '--input_path', '--input_dir', dest='input_path', required=True,
                    help='a photo or a folder of photos')
    ap.add_argument('-o', '--output_path', '--output_dir', dest='output_path', required=True, help='output folder')
    ap.add_argument('--size', type=number(int, 16, 4096), default=512, help='crop size in pixels (default: 512)')
    ap.add_argument('--only_largest', action='store_true', help='keep only the largest face of each photo')
    ap.add_argument('--min_size', type=non_negative_float, default=min_size_default,
                    help=f'skip faces narrower than this many pixels in the photo (default: {min_size_default:g})')
    ap.add_argument('--detection_model', default='mtcnn', help=f'face detector: {DETECTORS.described("mtcnn")}')
    ap.add_argument('--device', default='auto')
    add_max_pixels(ap)
    ap.add_argument('-q', '--quiet', action='store_true')
    ap.set_defaults(sidecars=sidecars)
    return ap

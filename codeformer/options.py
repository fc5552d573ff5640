"""Command-line options: one set shared by the three front doors, plus each one's own."""
from __future__ import annotations

import argparse

from codeformer import __version__


def number(kind: type, low: float | None = None, high: float | None = None, above: float | None = None):
    """An argparse type: ``kind`` (int or float) within [low, high], or greater than ``above``."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'not a {"whole number" if kind is int else "number"}: {text!r}') from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f'in [{low}, {high}]' if high is not None else f'{low} or more'
            raise argparse.ArgumentTypeError(f'must be {bounds}, got {value}')
        if above is not None and not value > above:
            raise argparse.ArgumentTypeError(f'must be more than {above}, got {value}')
        return value
    return parse


fidelity_weight = number(float, 0, 1)
positive_int = number(int, 1)
positive_float = number(float, above=0)
crf_value = number(int, 0, 51)


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
    parser.add_argument('--fp32', action='store_true', help='full precision on CUDA (default there: half)')
    parser.add_argument('--skip_existing', action='store_true',
                        help='leave inputs whose results exist already (resume a stopped batch)')
    parser.add_argument('--report', default=None, metavar='FILE.json',
                        help='write a JSON report: per input its outputs, faces, timings and any error')
    parser.add_argument('-q', '--quiet', action='store_true', help='no progress bar or summary')
    parser.add_argument('--version', action='version', version=f'codeformer {__version__}')


def restore_parser(prog: str = 'inference_codeformer.py') -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description='Restore faces with CodeFormer.')
    add_common_options(parser, 'inputs/whole_imgs')
    parser.add_argument('-w', '--fidelity_weight', type=fidelity_weight, default=0.5,
                        help='balance quality (0) and fidelity to the input (1); default 0.5')
    parser.add_argument('--has_aligned', action='store_true', help='inputs are aligned 512x512 face crops')
    parser.add_argument('-s', '--upscale', type=positive_int, default=2,
                        help='output size relative to the input, a whole number >= 1 (default: 2)')
    parser.add_argument('--detection_model', default='retinaface_resnet50',
                        help='face detector: retinaface_resnet50 (default), retinaface_mobile0.25, dlib, or one '
                             'that needs no download (see README)')
    parser.add_argument('--only_center_face', action='store_true', help='restore only the face nearest the centre')
    parser.add_argument('--min_eye_distance', type=float, default=5.0,
                        help='ignore faces whose eyes are closer than this many input pixels (default: 5)')
    parser.add_argument('--draw_box', action='store_true', help='outline the restored faces in the result')
    parser.add_argument('--no_parse', action='store_true',
                        help='paste faces back with a feathered square instead of a face-parsing mask')
    parser.add_argument('--bg_upsampler', default=None, choices=['realesrgan'],
                        help='upsample the background with Real-ESRGAN (slow on the CPU)')
    parser.add_argument('--face_upsample', action='store_true',
                        help='also upsample the restored faces with the background upsampler')
    parser.add_argument('--bg_tile', type=int, default=400,
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

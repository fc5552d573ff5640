"""The ``restore``, ``colorize`` and ``inpaint`` commands: their options parsed into ``RunOptions`` and the run
done by the batch core (``codeformer.batch.run``)."""
from __future__ import annotations

import argparse
import operator

from codeformer.batch.exits import end_run, say
from codeformer.batch.options import (
    NetworkSettings,
    OutputSettings,
    PipelineSettings,
    RunOptions,
    ScaleSettings,
    VideoSettings,
)
from codeformer.batch.run import run
from codeformer.cli import arguments

PARSERS = {'restore': arguments.restore_parser, 'colorize': arguments.colorize_parser,
           'inpaint': arguments.inpaint_parser}


def main(command: str, argv: list[str] | None = None, prog: str | None = None) -> int:
    args = PARSERS[command](prog=prog or f'codeformer {command}').parse_args(argv)
    options = run_options(command, args)
    return end_run(run(options, say=say), options.quiet)


# Each group's fields from the flags that set them: field -> flag, or (flag, how the flag's value reads).
_NOT = operator.not_
_FLAGS = {
    NetworkSettings: {'w': 'fidelity_weight', 'model_path': 'model_path', 'device': 'device', 'compile': 'compile',
                      'backend': 'backend', 'onnx_path': 'onnx_path', 'batch_size': 'batch_size'},
    PipelineSettings: {'aligned': 'has_aligned', 'upscale': 'upscale', 'detector': 'detection_model',
                       'only_center_face': 'only_center_face', 'min_eye_distance': 'min_eye_distance',
                       'draw_box': 'draw_box', 'parse': ('no_parse', _NOT), 'bg_upsampler': 'bg_upsampler',
                       'face_upsample': 'face_upsample', 'bg_tile': 'bg_tile', 'mask': 'mask'},
    VideoSettings: {'fps': 'save_video_fps', 'crf': 'crf', 'smooth': ('no_smooth', _NOT),
                    'detect_every': 'detect_every', 'save_frames': 'save_frames', 'temporal': 'temporal'},
    OutputSettings: {'input_path': 'input_path', 'output_path': 'output_path', 'suffix': 'suffix',
                     'skip_existing': 'skip_existing', 'report': 'report', 'max_pixels': 'max_pixels'},
    ScaleSettings: {'shard': 'shard', 'ray': 'ray', 'ray_actors': 'ray_actors'},
}


def run_options(command: str, args: argparse.Namespace) -> RunOptions:
    """The command line's flags as the batch core's settings (a command without a flag keeps the default)."""
    given = vars(args)

    def group(kind, **more):
        values = {}
        for field, flag in _FLAGS[kind].items():
            flag, read = flag if isinstance(flag, tuple) else (flag, None)
            if flag in given:
                values[field] = read(given[flag]) if read else given[flag]
        return kind(**values, **more)

    return RunOptions(command, group(NetworkSettings, precision=arguments.precision_of(args)),
                      group(PipelineSettings), group(VideoSettings), group(OutputSettings), group(ScaleSettings),
                      quiet=args.quiet)

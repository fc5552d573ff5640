"""A run's settings in their groups, each checked once when made, with the library's errors (argument, value,
reason); and the command line's flags mapped onto them."""
import pytest

from codeformer.batch.options import NetworkSettings, PipelineSettings, RunOptions, VideoSettings
from codeformer.cli.arguments import restore_parser
from codeformer.cli.restore import run_options
from codeformer.errors import InvalidOption


@pytest.mark.parametrize('make,argument,value', [
    (lambda: NetworkSettings(w=1.5), 'w', 1.5),
    (lambda: NetworkSettings(batch_size=0), 'batch_size', 0),
    (lambda: NetworkSettings(precision='fp8'), 'precision', 'fp8'),
    (lambda: NetworkSettings(backend='tensorrt'), 'backend', 'tensorrt'),
    (lambda: PipelineSettings(upscale=0), 'upscale', 0),
    (lambda: PipelineSettings(upscale=17), 'upscale', 17),
    (lambda: PipelineSettings(detector='nope'), 'detection_model', 'nope'),
    (lambda: PipelineSettings(bg_upsampler='esrgan'), 'bg_upsampler', 'esrgan'),
    (lambda: PipelineSettings(min_eye_distance=-1), 'min_eye_distance', -1),
    (lambda: VideoSettings(crf=52), 'crf', 52),
    (lambda: VideoSettings(detect_every=0), 'detect_every', 0),
    (lambda: VideoSettings(fps=0), 'fps', 0),
])
def test_each_group_refuses_a_bad_value_naming_it(make, argument, value):
    with pytest.raises(InvalidOption) as refused:
        make()
    assert (refused.value.argument, refused.value.value) == (argument, value)


def test_the_ends_of_each_range_are_taken():
    assert NetworkSettings(w=0).w == 0 and NetworkSettings(w=1).w == 1
    assert PipelineSettings(upscale=1).upscale == 1 and PipelineSettings(upscale=16).upscale == 16
    assert VideoSettings(crf=0).crf == 0 and VideoSettings(crf=51).crf == 51
    assert PipelineSettings(aligned=True, detector='not used on aligned faces').aligned


def test_the_command_lines_flags_become_the_settings():
    args = restore_parser().parse_args(['-w', '0', '-s', '1', '--no_parse', '--no_smooth', '--detection_model', 'mtcnn',
                                        '--temporal', 'off', '--crf', '0', '--save_video_fps', '12.5', '--fp32'])
    options = run_options('restore', args)
    assert options.network.w == 0 and options.network.precision == 'fp32'
    assert (options.pipeline.upscale, options.pipeline.parse, options.pipeline.detector) == (1, False, 'mtcnn')
    assert (options.video.smooth, options.video.temporal, options.video.crf, options.video.fps) == (False, False, 0,
                                                                                                     12.5)
    assert options.whole_photos and options.but(pipeline={'aligned': True}).whole_photos is False
    # the command line's defaults are the core's (but w, which restore always gives)
    assert run_options('restore', restore_parser().parse_args([])) == RunOptions(network=NetworkSettings(w=0.5))

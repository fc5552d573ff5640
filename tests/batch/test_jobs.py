"""What each command builds from its options (``codeformer.batch.jobs.build_job``), in-process."""
import pytest

from codeformer.batch.jobs import build_job
from codeformer.batch.options import NetworkSettings, PipelineSettings, RunOptions


def options(w=None, aligned=False, command='restore', checkpoint=None, quiet=True):
    """A run's settings as the tests here want them: the small network on the CPU, MTCNN, no parsing."""
    return RunOptions(command, NetworkSettings(w=w, model_path=str(checkpoint), device='cpu'),
                      PipelineSettings(aligned=aligned, detector='mtcnn', parse=False), quiet=quiet)


@pytest.mark.parametrize('w', [0.0, 0.3, 1.0])
@pytest.mark.parametrize('has_aligned', [True, False])
def test_the_fidelity_weight_asked_for_is_the_one_used_0_included(checkpoint, w, has_aligned):
    """0 once read as "not given" (w 0.5); every front end (command line, Ray, videos) builds its job here."""
    job = build_job(options(w, has_aligned, checkpoint=checkpoint))
    assert job.enhancer.restorer.w == w


def test_commands_with_a_fixed_weight_and_restoration_without_one(checkpoint):
    assert build_job(options(aligned=True, checkpoint=checkpoint)).enhancer.restorer.w == 0.5
    colorize = build_job(options(command='colorize', checkpoint=checkpoint))
    assert colorize.enhancer.restorer.w == 0.0  # the released colorization model runs at w 0, as the official


def test_a_whole_image_job_runs_at_its_own_w_and_calls_its_hooks_without_touching_the_restorer(checkpoint):
    """The web page's batches pass their w and their Stop and progress as arguments: the shared restorer keeps its
    own w, and the results are those of a restorer built at that w."""
    import numpy as np

    from codeformer.batch.jobs import WholeImageJob
    from codeformer.hooks import WorkHooks
    from codeformer.utils.image_io import read_image
    from tests.support.cli import ROOT

    photo = read_image(ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png')
    shared = build_job(options(0.5, checkpoint=checkpoint)).enhancer
    calls = []
    hooks = WorkHooks(checkpoint=lambda: calls.append('checkpoint'),
                      on_progress=lambda items, faces, found: calls.append(('progress', items, faces, found)),
                      on_batch=lambda items, faces: calls.append(('batch', items, faces)))
    [result] = WholeImageJob(shared, w=0.9, hooks=hooks).process([photo], [None])
    assert shared.restorer.w == 0.5
    assert calls == ['checkpoint', ('progress', 1, 1, 1), ('batch', 1, 1)]
    [expected] = build_job(options(0.9, checkpoint=checkpoint)).process([photo], [None])
    at_half = WholeImageJob(shared).process([photo], [None])[0]
    final = 'final_results/{name}.png'
    assert np.array_equal(result.outputs[final], expected.outputs[final])
    assert not np.array_equal(result.outputs[final], at_half.outputs[final])

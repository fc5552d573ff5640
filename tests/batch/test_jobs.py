"""What each command builds from its options (``codeformer.batch.jobs.build_job``), in-process."""
import pytest

from codeformer.batch.jobs import build_job
from codeformer.batch.options import RunOptions


@pytest.mark.parametrize('w', [0.0, 0.3, 1.0])
@pytest.mark.parametrize('has_aligned', [True, False])
def test_the_fidelity_weight_asked_for_is_the_one_used_0_included(checkpoint, w, has_aligned):
    """0 once read as "not given" (w 0.5); every front end (command line, Ray, videos) builds its job here."""
    job = build_job(RunOptions(fidelity_weight=w, has_aligned=has_aligned, model_path=str(checkpoint), device='cpu',
                               detection_model='mtcnn', no_parse=True, quiet=True))
    assert job.enhancer.restorer.w == w


def test_commands_with_a_fixed_weight_and_restoration_without_one(checkpoint):
    assert build_job(RunOptions(model_path=str(checkpoint), has_aligned=True, device='cpu')).enhancer.restorer.w == 0.5
    colorize = build_job(RunOptions(command='colorize', model_path=str(checkpoint), device='cpu'))
    assert colorize.enhancer.restorer.w == 0.0  # the released colorization model runs at w 0, as the official

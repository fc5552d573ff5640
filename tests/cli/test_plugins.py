"""A detector registered from outside the package (``tests/support/plugin_detector.py``, loaded through
``$CODEFORMER_PLUGINS``) is in the command line's help and accepted values, with no file of the package changed."""
import json

import numpy as np
import pytest

from codeformer.utils.image_io import write_image
from tests.support.cli import run_script

NAME = 'stand_in_centre'  # what the module registers (imported here it would register in this process too)
PLUGIN = {'CODEFORMER_PLUGINS': 'tests.support.plugin_detector', 'OMP_NUM_THREADS': '1'}


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_a_plug_in_detector_is_in_the_help_and_restores_a_photo(tmp_path, checkpoint):
    helped = run_script('-m codeformer', '--help', env=PLUGIN)
    assert helped.returncode == 0 and NAME in ' '.join(helped.stdout.split()), helped.stdout
    assert NAME not in run_script('-m codeformer', '--help').stdout

    photo = tmp_path / 'photo.png'
    rng = np.random.default_rng(0)
    write_image(photo, rng.integers(0, 256, (200, 300, 3), dtype=np.uint8))
    common = ('-i', str(photo), '-s', '1', '--model_path', str(checkpoint), '--no_parse', '--device', 'cpu',
              '--detection_model', NAME, '-q')
    proc = run_script('-m codeformer', *common, '-o', str(tmp_path / 'out'), '--report', str(tmp_path / 'r.json'),
                      env=PLUGIN)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'out' / 'final_results' / 'photo.png').is_file()
    [record] = json.loads((tmp_path / 'r.json').read_text())
    assert len(record['info']['detections']) == 1

    unknown = run_script('-m codeformer', *common, '-o', str(tmp_path / 'none'))
    assert unknown.returncode == 2 and f'--detection_model {NAME}: unknown detector' in unknown.stderr
    assert not (tmp_path / 'none').exists()

"""The command line and the page refuse the same bad values for the same reason: both check them with the
library's ``PhotoSettings`` and word its reason their own way (``--detection_model nope: ...`` and ``detector
'nope': ...``)."""
import json

import pytest

from codeformer.errors import InvalidOption
from codeformer.settings import PhotoSettings
from tests.serve.test_app import upload_photo, write_face
from tests.support.cli import run_script

CASES = [  # the command line's options, the page's settings, the library's
    (['-w', '1.5'], {'w': 1.5}, {'w': 1.5}),
    (['-w', '-0.25'], {'w': -0.25}, {'w': -0.25}),
    (['--detection_model', 'nope'], {'detector': 'nope'}, {'detector': 'nope'}),
    (['-s', '0'], {'upscale': 0}, {'upscale': 0}),
    (['-s', '17'], {'upscale': 17}, {'upscale': 17}),
    (['--bg_upsampler', 'esrgan'], {'bg_upsampler': 'esrgan'}, {'bg_upsampler': 'esrgan'}),
]


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_the_same_bad_values_are_refused_for_the_same_reason(server, tmp_path, checkpoint):
    face = write_face(tmp_path / 'face.png')
    photo = upload_photo(server, face)
    for flags, page, library in CASES:
        with pytest.raises(InvalidOption) as refused:
            PhotoSettings(**library)
        reason = refused.value.reason
        cli = run_script('-m codeformer', '-i', str(face), '-o', str(tmp_path / 'out'), '--model_path',
                         str(checkpoint), '--device', 'cpu', '-q', *flags)
        assert cli.returncode == 2 and reason in cli.stderr, (flags, cli.stderr)
        status, _, data = server.request('POST', f'/api/photos/{photo["id"]}/restore', {'settings': page})
        said = json.loads(data)['error']
        assert status == 400 and reason in said, (page, said)
        assert said.split(':')[0] in ('w', 'upscale', 'detector \'nope\'', 'bg_upsampler \'esrgan\'')
    assert not (tmp_path / 'out').exists()

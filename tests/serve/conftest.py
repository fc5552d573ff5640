import os

import pytest

from codeformer.utils.image_io import write_image
from tests.support.browser import INSTALL, chromium_paths, start_chromium
from tests.support.cli import run_script
from tests.support.serve import SERVE_OPTIONS, start_server, two_faces


@pytest.fixture(scope='package')
def server(checkpoint, tmp_path_factory):
    """One server for the package's tests (uploads over 20 MB refused)."""
    served = start_server(checkpoint, tmp_path_factory.mktemp('served'), '--max_upload_mb', '20')
    yield served
    served.stop()


@pytest.fixture(scope='package')
def photo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('photo') / 'two faces.png'
    write_image(path, two_faces())
    return path


@pytest.fixture(scope='package')
def cli_result(photo_file, checkpoint, tmp_path_factory):
    """The batch tool's result for the photo at -w 0.3 (bytes of final_results/<name>.png)."""
    out = tmp_path_factory.mktemp('cli')
    proc = run_script('inference_codeformer.py', '-w', '0.3', '-s', '2', '-i', str(photo_file), '-o', str(out),
                      '--model_path', str(checkpoint), *SERVE_OPTIONS, '-q', env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr
    return (out / 'final_results' / 'two faces.png').read_bytes()


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    """A headless Chromium for one test module (the page's browser tests); fails instead of skipping under
    CODEFORMER_REQUIRE_BROWSER=1 (CI)."""
    if not all(chromium_paths()):
        message = f'the page tests need Chromium and its driver: {INSTALL}'
        if os.environ.get('CODEFORMER_REQUIRE_BROWSER'):
            pytest.fail(message)
        pytest.skip(message)
    driver = start_chromium(tmp_path_factory.mktemp('downloads'))
    yield driver
    driver.quit()

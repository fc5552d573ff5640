import pytest

from tests.support.nets import save_checkpoint, small_codeformer
from tests.support.serve import start_server


@pytest.fixture(scope='package')
def checkpoint(tmp_path_factory):
    return save_checkpoint(small_codeformer(), tmp_path_factory.mktemp('ckpt') / 'small.pth')


@pytest.fixture(scope='package')
def server(checkpoint, tmp_path_factory):
    """One server for the package's tests (uploads over 20 MB refused)."""
    served = start_server(checkpoint, tmp_path_factory.mktemp('served'), '--max_upload_mb', '20')
    yield served
    served.stop()

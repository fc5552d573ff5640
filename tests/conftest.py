import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault('OMP_NUM_THREADS', '2')

# Our package first, as users' programs import it: its compatibility shims (codeformer/compat.py) must be in place
# before a test module imports basicsr or realesrgan directly.
import codeformer  # noqa: E402,F401

# isort: split
import pytest  # noqa: E402


@pytest.fixture(scope='session')
def checkpoint(tmp_path_factory):
    """A small CodeFormer (``tests.support.nets.small_codeformer``, seed 0) saved as a released file is: its weights
    under ``params_ema``. Shared by every test that runs the scripts or the server; none of them changes it."""
    from tests.support.nets import save_checkpoint, small_codeformer

    return save_checkpoint(small_codeformer(), tmp_path_factory.mktemp('ckpt') / 'small.pth')

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault('OMP_NUM_THREADS', '2')

# Our package first, as users' programs import it: its compatibility shims (codeformer/compat.py) must be in place
# before a test module imports basicsr or realesrgan directly.
import codeformer  # noqa: E402,F401

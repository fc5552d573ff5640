"""Running the real command line in a subprocess, as a user does."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_script(script: str, *args: str, cwd: Path | None = None, env: dict | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """``python <script> args...``; ``script`` may also be ``-m codeformer`` (the ``codeformer`` command)."""
    full_env = {**os.environ, 'PYTHONPATH': str(ROOT), 'CODEFORMER_MIRROR': 'http://127.0.0.1:9/none',
                **(env or {})}
    target = script.split() if script.startswith('-m ') else [str(ROOT / script)]
    return subprocess.run([sys.executable, *target, *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)

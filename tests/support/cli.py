"""Running the real command line in a subprocess, as a user does."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _command(script: str, args: tuple[str, ...], env: dict | None) -> tuple[list[str], dict]:
    full_env = {**os.environ, 'PYTHONPATH': str(ROOT), 'CODEFORMER_MIRROR': 'http://127.0.0.1:9/none',
                **(env or {})}
    target = script.split() if script.startswith('-m ') else [str(ROOT / script)]
    return [sys.executable, *target, *args], full_env


def run_script(script: str, *args: str, cwd: Path | None = None, env: dict | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """``python <script> args...``; ``script`` may also be ``-m codeformer`` (the ``codeformer`` command)."""
    command, full_env = _command(script, args, env)
    return subprocess.run(command, cwd=cwd or ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def start_script(script: str, *args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.Popen:
    """As ``run_script``, started and left running (``communicate()`` gives its stdout and stderr)."""
    command, full_env = _command(script, args, env)
    return subprocess.Popen(command, cwd=cwd or ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)

"""Running a script in a subprocess and measuring that child's own peak memory.

The script is started by a small launcher process, which reads the script's ``wait4`` resource usage: on Linux a
child's peak includes the memory of the process it was forked from, so a direct child of the test process (holding
torch and test data) would be charged with the test's own memory.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import ROOT

SAFETY_LIMIT = 3 << 30  # the script's data segment: a regression fails with an allocation error, not the OOM killer

_LAUNCHER = '''
import os, resource, subprocess, sys
def limit():
    resource.setrlimit(resource.RLIMIT_DATA, (int(sys.argv[2]), int(sys.argv[2])))
proc = subprocess.Popen(sys.argv[3:], preexec_fn=limit)
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], 'w') as f:
    f.write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
'''


def run_measured(script: str, *args: str, cwd: Path | None = None, env: dict | None = None,
                 timeout: float = 300) -> tuple[subprocess.CompletedProcess, int]:
    """The finished process (stdout, stderr as text) and its peak resident memory in bytes."""
    import tempfile
    full_env = {**os.environ, 'PYTHONPATH': str(ROOT), 'CODEFORMER_MIRROR': 'http://127.0.0.1:9/none',
                **(env or {})}
    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / 'peak'
        proc = subprocess.run([sys.executable, '-c', _LAUNCHER, str(peak_file), str(SAFETY_LIMIT), sys.executable,
                               str(ROOT / script), *args], cwd=cwd or ROOT, env=full_env, capture_output=True,
                              text=True, timeout=timeout)
        peak = int(peak_file.read_text())
    return proc, peak

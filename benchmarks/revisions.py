"""Copies of the project at a git revision, for benchmarks that time an earlier state beside the current one."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(rev: str, dest: Path, *paths: str) -> str | None:
    """Write ``paths`` (all of the project if none) as they were at ``rev`` into ``dest``; why not, or None."""
    archive = subprocess.run(['git', '-C', str(ROOT), 'archive', rev, *paths], capture_output=True)
    if archive.returncode:
        return f'no revision {rev} in git ({archive.stderr.decode().strip()[:80]})'
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(['tar', '-x', '-C', str(dest)], input=archive.stdout, check=True)
    return None


def commit_of(rev: str) -> str:
    """The short commit id ``rev`` names, or ``rev`` itself when git does not know it."""
    proc = subprocess.run(['git', '-C', str(ROOT), 'rev-parse', '--short', rev], capture_output=True, text=True)
    return proc.stdout.strip() or rev

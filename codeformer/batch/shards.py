"""``RunOptions.shard``, K of N or ``auto``: one of N disjoint, stable parts of a run's inputs.

A file's shard is a hash of its path relative to the input root (for a folder, its name in the folder), so the
same file lands in the same shard whatever machine lists it and whatever else the folder holds. Shards are taken
after the whole folder is listed, so output names (``a_jpg``, ``a_png``) are those of a single run.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codeformer.batch.checks import UsageError
from codeformer.errors import InvalidOption
from codeformer.utils.inputs import InputFile

# (rank, world size) variables of the launchers we know, first found wins
LAUNCHERS = (('RANK', 'WORLD_SIZE', 'torchrun'), ('SLURM_PROCID', 'SLURM_NTASKS', 'Slurm'))
_SHARD_REPORT = re.compile(r'(?P<base>.*)\.(?P<index>\d+)-of-(?P<count>\d+)(?P<suffix>\.[^.]*)?$')
LOCAL_RANKS = ('LOCAL_RANK', 'SLURM_LOCALID')  # a process's number on its own machine


@dataclass(frozen=True)
class Shard:
    index: int  # 0-based, as RANK and SLURM_PROCID are
    count: int

    def __str__(self) -> str:
        return f'{self.index}/{self.count}'

    def holds(self, relative: str) -> bool:
        """Whether the input at ``relative`` (a path relative to the input root) belongs to this shard."""
        return shard_of(relative, self.count) == self.index

    def report_path(self, report: Path) -> Path:
        """Where this shard writes its report: ``report.json`` -> ``report.0-of-2.json``."""
        return report.with_name(f'{report.stem}.{self.index}-of-{self.count}{report.suffix}')


def shard_of(relative: str, count: int) -> int:
    """The shard (0..count-1) of a relative path: the same on every machine and Python process."""
    digest = hashlib.sha256(os.fsencode(Path(relative).as_posix())).digest()
    return int.from_bytes(digest[:8], 'big') % count


def parse_shard(text: str) -> Shard | str:
    """``K/N`` (0 <= K < N) as a ``Shard``, or ``auto``; anything else is an ``InvalidOption``."""
    if text == 'auto':
        return text
    match = re.fullmatch(r'\s*(\d+)\s*/\s*(\d+)\s*', text)
    if not match:
        raise InvalidOption(f'expected K/N (this is shard K of N, counted from 0) or auto, got {text!r}')
    index, count = int(match[1]), int(match[2])
    if count < 1 or index >= count:
        raise InvalidOption(f'K must be in [0, N-1] and N at least 1, got {text!r}')
    return Shard(index, count)


def resolve_shard(value: Shard | str | None, environ: Mapping[str, str] = os.environ) -> Shard | None:
    """The shard to run: the one given, or for ``auto`` the launcher's rank and world size."""
    if value != 'auto':
        return value
    for rank_var, size_var, launcher in LAUNCHERS:
        if rank_var in environ and size_var in environ:
            try:
                return parse_shard(f'{environ[rank_var]}/{environ[size_var]}')
            except InvalidOption:
                raise UsageError(f'{launcher} set {rank_var}={environ[rank_var]!r} and {size_var}='
                                 f'{environ[size_var]!r}, not a rank below a world size', 'shard', 'auto') from None
    names = ' or '.join(f'{rank}/{size}' for rank, size, _ in LAUNCHERS)
    raise UsageError(f'no launcher found (neither {names} is set); give the shard as K/N', 'shard', 'auto')


def local_device(device: str, gpus: int, environ: Mapping[str, str] = os.environ) -> str:
    """The device ``auto`` for one of several processes on a machine with several GPUs: the GPU of its local rank
    (``cuda:LOCAL_RANK``), as torchrun and Slurm number them; any other case unchanged."""
    if device != 'auto' or gpus < 2:
        return device
    for name in LOCAL_RANKS:
        if environ.get(name, '').isdigit():
            return f'cuda:{int(environ[name]) % gpus}'
    return device


def relative_to_root(path: Path, input_path: str | os.PathLike) -> str:
    """``path`` relative to the input root: its name in the folder, or the file's own name."""
    root = Path(input_path)
    return path.relative_to(root).as_posix() if root.is_dir() else path.name


def take_shard(inputs: Sequence[InputFile], input_path: str | os.PathLike, shard: Shard | None) -> list[InputFile]:
    """The inputs of ``shard`` (all of them without one), in their order."""
    if shard is None:
        return list(inputs)
    return [inp for inp in inputs if shard.holds(relative_to_root(inp.path, input_path))]


def missing_shards(paths: list[Path]) -> list[str]:
    """For reports named ``NAME.K-of-N.json``: the expected names of the shards not given."""
    found = [_SHARD_REPORT.fullmatch(p.name) for p in paths]
    if not found or not all(found):
        return []
    missing = []
    for base, count, suffix, parent in {(m['base'], int(m['count']), m['suffix'] or '', p.parent)
                                        for m, p in zip(found, paths)}:
        have = {int(m['index']) for m, p in zip(found, paths) if m['base'] == base and int(m['count']) == count}
        missing += [str(parent / f'{base}.{k}-of-{count}{suffix}') for k in range(count) if k not in have]
    return sorted(missing)

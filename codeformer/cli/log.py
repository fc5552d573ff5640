"""What a run did, input by input, for images and videos alike: one record list, the lines said on the way, the
report file, the summary line and the exit code."""
from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from codeformer.utils.image_io import write_bytes_atomic
from codeformer.utils.inputs import InputFile

# The exit-code table of every command.
EXIT_OK = 0  # everything asked for was done
EXIT_SOME_FAILED = 1  # the run went through, some inputs failed (each named in an error line)
EXIT_USAGE = 2  # nothing was done: bad arguments, unusable input or output path, missing weights
EXIT_INTERRUPTED = 130  # Ctrl-C (what shells report for SIGINT)
EXIT_TERMINATED = 143  # SIGTERM

_PLURALS = {'file of another type': 'files of other types', 'video with --has_aligned': 'videos with --has_aligned'}


def one_line(text: object) -> str:
    """``text`` with every character that is not printable escaped (``\\n``, ``\\x1b``, ...): a file name can hold
    them, and one problem must stay one line on a terminal and in a log."""
    return ''.join(ch if ch.isprintable() else ch.encode('unicode_escape').decode('ascii') for ch in str(text))


def say(kind: str, message: object) -> None:
    """``<kind>: <message>`` as one line on stderr, without tearing a progress bar."""
    tqdm.write(f'{kind}: {one_line(message)}', file=sys.stderr)


def counted(n: int, word: str) -> str:
    return f'{n} {word if n == 1 else _PLURALS.get(word, word + "s")}'


@dataclass
class Record:
    """One input of the run: what it gave, or why not."""
    input: str
    kind: str = 'image'
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: bool = False
    seconds: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    node: str | None = None  # the Ray node that did it (--ray runs only)


class RunLog:
    """The records of one run, in input order, and what was passed over before it started.

    ``label`` starts the summary (``shard 0/2: ...``); ``echo=False`` records errors and warnings without saying
    them (a Ray actor's log: the driver says them)."""

    def __init__(self, out_root: Path, passed_over: Counter | None = None, quiet: bool = False, label: str = '',
                 echo: bool = True):
        self.out_root = out_root
        self.passed_over = Counter(passed_over or {})
        self.quiet = quiet
        self.label = label
        self.echo = echo
        self.records: list[Record] = []

    def add(self, inp: InputFile) -> Record:
        rec = Record(str(inp.path), inp.kind)
        self.records.append(rec)
        return rec

    def fail(self, rec: Record, message: str) -> None:
        rec.error = message
        if self.echo:
            say('error', message)

    def warn(self, rec: Record, message: str) -> None:
        rec.warnings.append(message)
        if self.echo:
            say('warning', message)

    def announce(self, rec: Record) -> None:
        """Say a record's warnings and error, recorded elsewhere (by a Ray actor)."""
        for message in rec.warnings:
            say('warning', message)
        if rec.error:
            say('error', rec.error)

    def summary(self) -> str:
        text = outcomes(self.records)
        if self.passed_over:
            text += '; passed over: ' + ', '.join(counted(n, w) for w, n in sorted(self.passed_over.items()))
        return f'{self.label}{": " if self.label else ""}{text}; results in {self.out_root}'

    def finish(self, report: Path | None, code: int = EXIT_OK) -> int:
        """Write the report, say the summary; the exit code: ``code`` (an interruption) or the outcome's."""
        if report is not None:
            try:
                write_report(report, self.records)
            except OSError as exc:
                say('error', f'{report}: cannot write the report ({exc.strerror or exc})')
                code = max(code, EXIT_SOME_FAILED)
        if not self.quiet:
            tqdm.write(one_line(self.summary()), file=sys.stderr)
        if code == EXIT_OK and any(r.error for r in self.records):
            code = EXIT_SOME_FAILED
        return code


def outcomes(records: list[Record]) -> str:
    """``3 done, 1 failed, 1 with warnings, 2 skipped (already done)``."""
    done = sum(1 for r in records if not r.error and not r.skipped)
    failed = sum(1 for r in records if r.error)
    skipped = sum(1 for r in records if r.skipped)
    warned = sum(1 for r in records if r.warnings and not r.error)
    parts = [f'{done} done', f'{failed} failed']
    if warned:
        parts.append(f'{warned} with warnings')
    if skipped:
        parts.append(f'{skipped} skipped (already done)')
    return ', '.join(parts)


def write_report(path: Path, records: list[Record]) -> None:
    """The records as a JSON list, empty fields left out; written atomically."""
    data = [{k: v for k, v in vars(r).items() if v not in (None, {}, [], False)} for r in records]
    write_bytes_atomic(path, json.dumps(data, indent=2, ensure_ascii=False).encode())


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run stops as cleanly as on Ctrl-C (no temporary files left)."""


def interruption_code(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED

"""What a run did, input by input, for images and videos alike: one record per input with its status, the lines
said on the way (through the front end's ``say``), the summary line, the report file (``RunOptions.report``) and the
merging of several shards' reports. The core returns a ``RunOutcome``; the front end says it and picks the exit
code (``codeformer.batch.exits.end_run``)."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codeformer.batch.checks import UsageError
from codeformer.utils.image_io import write_bytes_atomic
from codeformer.utils.inputs import InputFile

# What became of an input. 'stopped': the one being worked on when the run was stopped (a video keeps the frames
# done so far as <name>.partial.mp4); 'not started': the run stopped (or its cluster went away) before it.
STATUSES = ('done', 'failed', 'skipped', 'stopped', 'not started')

VIDEO_AMONG_FACES = 'video among aligned faces'  # passed over: aligned-face runs restore no video
_PLURALS = {'file of another type': 'files of other types', VIDEO_AMONG_FACES: 'videos among aligned faces'}


def counted(n: int, word: str) -> str:
    return f'{n} {word if n == 1 else _PLURALS.get(word, word + "s")}'


@dataclass
class Record:
    """One input of the run: what it gave, or why not."""
    input: str
    kind: str = 'image'
    status: str = 'not started'  # one of STATUSES
    outputs: list[str] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    node: str | None = None  # the Ray node that did it (runs on Ray only)


class RunLog:
    """The records of one run, in input order, and what was passed over before it started.

    ``label`` starts the summary (``shard 0/2: ...``); ``say(kind, message)``: how the front end says an error or a
    warning as it happens (None: recorded only, as in a Ray actor's log, whose driver says them)."""

    def __init__(self, out_root: Path, passed_over: Counter | None = None, quiet: bool = False, label: str = '',
                 say: Callable[[str, str], None] | None = None):
        self.out_root = out_root
        self.passed_over = Counter(passed_over or {})
        self.quiet = quiet
        self.label = label
        self.say = say
        self.records: list[Record] = []
        self._by_path: dict[str, Record] = {}

    def add(self, inp: InputFile) -> Record:
        """The record of ``inp`` ('not started' until a loop says otherwise); the same one when asked again."""
        key = str(inp.path)
        if key not in self._by_path:
            self._by_path[key] = rec = Record(key, inp.kind)
            self.records.append(rec)
        return self._by_path[key]

    def done(self, rec: Record) -> None:
        rec.status = 'done'

    def skip(self, rec: Record) -> None:
        rec.status = 'skipped'

    def fail(self, rec: Record, message: str, status: str = 'failed') -> None:
        rec.error, rec.status = message, status
        if self.say is not None:
            self.say('error' if status == 'failed' else status, message)

    def warn(self, rec: Record, message: str) -> None:
        rec.warnings.append(message)
        if self.say is not None:
            self.say('warning', message)

    def announce(self, rec: Record) -> None:
        """Say a record's warnings and error, recorded elsewhere (by a Ray actor)."""
        if self.say is None:
            return
        for message in rec.warnings:
            self.say('warning', message)
        if rec.error:
            self.say('error' if rec.status == 'failed' else rec.status, rec.error)

    def summary(self) -> str:
        text = outcomes(self.records)
        if self.passed_over:
            text += '; passed over: ' + ', '.join(counted(n, w) for w, n in sorted(self.passed_over.items()))
        return f'{self.label}{": " if self.label else ""}{text}; results in {self.out_root}'

    def finish(self, report: Path | None, interrupted: KeyboardInterrupt | None = None) -> RunOutcome:
        """Write the report (if asked); what the run did."""
        problem = None
        if report is not None:
            try:
                write_report(report, self.records)
            except OSError as exc:
                problem = f'{report}: cannot write the report ({exc.strerror or exc})'
                if self.say is not None:
                    self.say('error', problem)
        return RunOutcome(self, interrupted, problem)


@dataclass
class RunOutcome:
    """What a run did: its log (records, summary), the Ctrl-C or SIGTERM that stopped it, if one did, and why its
    report could not be written, if it could not."""
    log: RunLog
    interrupted: KeyboardInterrupt | None = None
    report_error: str | None = None

    @property
    def records(self) -> list[Record]:
        return self.log.records

    @property
    def failed(self) -> bool:
        """Some input failed, or the report could not be written."""
        return self.report_error is not None or any(r.status == 'failed' for r in self.records)


def outcomes(records: list[Record]) -> str:
    """``3 done, 1 failed, 1 with warnings, 2 skipped (already done), 1 stopped, 4 not started``."""
    count = Counter(r.status for r in records)
    warned = sum(1 for r in records if r.warnings and r.status != 'failed')
    parts = [f'{count["done"]} done', f'{count["failed"]} failed']
    if warned:
        parts.append(f'{warned} with warnings')
    if count['skipped']:
        parts.append(f'{count["skipped"]} skipped (already done)')
    if count['stopped']:
        parts.append(f'{count["stopped"]} stopped')
    if count['not started']:
        parts.append(f'{count["not started"]} not started')
    return ', '.join(parts)


def write_report(path: Path, records: list[Record]) -> None:
    """The records as a JSON list, empty fields left out (the status always there); written atomically."""
    data = [{k: v for k, v in vars(r).items() if k == 'status' or v not in (None, {}, [], False)} for r in records]
    write_bytes_atomic(path, json.dumps(data, indent=2, ensure_ascii=False).encode())


def read_report(path: Path) -> list[Record]:
    """A report's records; a file that is not one is a ``UsageError`` naming it."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise UsageError(f'{path}: cannot read the report ({exc.strerror or exc})') from None
    except ValueError as exc:
        raise UsageError(f'{path}: not a JSON report ({exc})') from None
    if not isinstance(data, list):
        raise UsageError(f'{path}: not a report (a JSON list of inputs)')
    try:
        records = [Record(**entry) for entry in data]
    except TypeError as exc:
        raise UsageError(f'{path}: not a report of this tool ({exc})') from None
    if any(r.status not in STATUSES for r in records):
        raise UsageError(f'{path}: not a report of this tool (a status outside {", ".join(STATUSES)})')
    return records


_FINISHED = {'done': 0, 'skipped': 1, 'stopped': 2, 'failed': 3, 'not started': 4}  # lower is more finished


def merge_reports(reports: list[list[Record]]) -> tuple[list[Record], int]:
    """All records, one per input, in a single run's order (images, then videos, each by path), each input's most
    finished one kept; and how many inputs were in more than one report."""
    best: dict[str, Record] = {}
    repeated = 0
    for records in reports:
        for rec in records:
            kept = best.get(rec.input)
            if kept is None:
                best[rec.input] = rec
                continue
            repeated += 1
            if _FINISHED[rec.status] < _FINISHED[kept.status]:
                best[rec.input] = rec
    order = sorted(best.values(), key=lambda r: (r.kind == 'video', Path(r.input)))
    return order, repeated

"""``codeformer merge-reports -o report.json report.0-of-2.json report.1-of-2.json``: the reports of a run's shards
as one report, in the order a single run lists its inputs (images, then videos, each by path).

An input found in more than one report (a shard run again) keeps its most finished record: done, then skipped, then
failed. When the reports are named as ``--shard`` names them (``NAME.K-of-N.json``), a missing shard is an
``error:`` line. Exit codes as for a run: 0 all done, 1 some inputs failed or a shard is missing, 2 a report cannot
be read or the merged one cannot be written (nothing written).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from codeformer.cli.checks import UsageError, writable_file
from codeformer.cli.log import EXIT_OK, EXIT_SOME_FAILED, Record, outcomes, say, write_report

_SHARD_NAME = re.compile(r'(?P<base>.*)\.(?P<index>\d+)-of-(?P<count>\d+)(?P<suffix>\.[^.]*)?$')


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description='Join the reports of the shards of a run (--shard) into one.')
    ap.add_argument('reports', nargs='+', metavar='REPORT.json', help='the shard reports (REPORT.K-of-N.json)')
    ap.add_argument('-o', '--output', required=True, metavar='FILE.json', help='the merged report')
    ap.add_argument('-q', '--quiet', action='store_true', help='no summary line')
    return ap


def read_records(path: Path) -> list[Record]:
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
        return [Record(**entry) for entry in data]
    except TypeError as exc:
        raise UsageError(f'{path}: not a report of this tool ({exc})') from None


def _rank(rec: Record) -> int:
    """Lower is more finished."""
    return 2 if rec.error else 1 if rec.skipped else 0


def merge(reports: list[list[Record]]) -> tuple[list[Record], int]:
    """All records, one per input, in a single run's order; and how many inputs were in more than one report."""
    best: dict[str, Record] = {}
    repeated = 0
    for records in reports:
        for rec in records:
            kept = best.get(rec.input)
            if kept is None:
                best[rec.input] = rec
                continue
            repeated += 1
            if _rank(rec) < _rank(kept):
                best[rec.input] = rec
    order = sorted(best.values(), key=lambda r: (r.kind == 'video', Path(r.input)))
    return order, repeated


def missing_shards(paths: list[Path]) -> list[str]:
    """For reports named ``NAME.K-of-N.json``: the expected names of the shards not given."""
    found = [_SHARD_NAME.fullmatch(p.name) for p in paths]
    if not found or not all(found):
        return []
    missing = []
    for base, count, suffix, parent in {(m['base'], int(m['count']), m['suffix'] or '', p.parent)
                                        for m, p in zip(found, paths)}:
        have = {int(m['index']) for m, p in zip(found, paths) if m['base'] == base and int(m['count']) == count}
        missing += [str(parent / f'{base}.{k}-of-{count}{suffix}') for k in range(count) if k not in have]
    return sorted(missing)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parser(prog).parse_args(argv)
    output = Path(args.output)
    paths = [Path(p) for p in args.reports]
    writable_file(output, 'merged report')
    reports = [read_records(p) for p in paths]
    records, repeated = merge(reports)
    code = EXIT_OK
    for name in missing_shards(paths):
        say('error', f'{name}: this shard\'s report is missing; its inputs are not in the merged report')
        code = EXIT_SOME_FAILED
    try:
        write_report(output, records)
    except OSError as exc:
        raise UsageError(f'{output}: cannot write the merged report ({exc.strerror or exc})') from None
    if any(r.error for r in records):
        code = EXIT_SOME_FAILED
    if not args.quiet:
        again = f'; {repeated} found in more than one report (the most finished kept)' if repeated else ''
        say('merged', f'{len(paths)} reports, {len(records)} inputs: {outcomes(records)}{again}; written to {output}')
    return code

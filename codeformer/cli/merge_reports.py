"""``codeformer merge-reports -o report.json report.0-of-2.json report.1-of-2.json``: the reports of a run's shards
as one report, in the order a single run lists its inputs (images, then videos, each by path).

An input found in more than one report (a shard run again) keeps its most finished record: done, then skipped, then
stopped, then failed, then not started. When the reports are named as ``--shard`` names them (``NAME.K-of-N.json``),
a missing shard is an ``error:`` line. Exit codes as for a run: 0 all done, 1 some inputs failed or a shard is
missing, 2 a report cannot be read or the merged one cannot be written (nothing written).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from codeformer.batch.checks import UsageError, writable_file
from codeformer.batch.exits import EXIT_OK, EXIT_SOME_FAILED, say
from codeformer.batch.report import merge_reports, outcomes, read_report, write_report
from codeformer.batch.shards import missing_shards


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description='Join the reports of the shards of a run (--shard) into one.')
    ap.add_argument('reports', nargs='+', metavar='REPORT.json', help='the shard reports (REPORT.K-of-N.json)')
    ap.add_argument('-o', '--output', required=True, metavar='FILE.json', help='the merged report')
    ap.add_argument('-q', '--quiet', action='store_true', help='no summary line')
    return ap


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parser(prog).parse_args(argv)
    output = Path(args.output)
    paths = [Path(p) for p in args.reports]
    writable_file(output, 'merged report')
    reports = [read_report(p) for p in paths]
    records, repeated = merge_reports(reports)
    code = EXIT_OK
    for name in missing_shards(paths):
        say('error', f'{name}: this shard\'s report is missing; its inputs are not in the merged report')
        code = EXIT_SOME_FAILED
    try:
        write_report(output, records)
    except OSError as exc:
        raise UsageError(f'{output}: cannot write the merged report ({exc.strerror or exc})') from None
    if any(r.status == 'failed' for r in records):
        code = EXIT_SOME_FAILED
    if not args.quiet:
        again = f'; {repeated} found in more than one report (the most finished kept)' if repeated else ''
        say('merged', f'{len(paths)} reports, {len(records)} inputs: {outcomes(records)}{again}; written to {output}')
    return code

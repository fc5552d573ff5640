"""The test suite at an earlier revision and now, timed in one run, and test by test.

    .venv/bin/python benchmarks/bench_suite.py [--before 8d97b32] [--now HEAD] [--marks "not slow"] [-k EXPR]
                                               [--first before|now] [--top 12]

Issue 29 asked that the refactor leave the whole suite no slower than it was when the issue was filed (8d97b32),
both timed in one run. Each suite runs from its own copy of its revision taken from git (``git archive``), the way CI
runs it (``python -m pytest -q tests``, with ``CODEFORMER_REQUIRE_BROWSER=1`` where Chromium is installed), one after
the other on the same machine with this interpreter's packages. The suites differ in more than speed: the later one
has the tests added since, and some tests moved (``tests/batch/`` to ``tests/cli/``). So beside the two wall times it
prints the like-for-like figure: the tests present in both (matched by module and test name, wherever the module
lives), their summed time in each (set-up and tear-down included, from pytest's JUnit XML), and the tests only one side
has, apart.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.revisions import commit_of, export  # noqa: E402

BEFORE = '8d97b32'


@dataclass
class SuiteRun:
    """One suite's run: its wall time, pytest's last line, and seconds and outcome per test."""
    label: str
    wall: float = 0.0
    summary: str = ''
    seconds: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)

    def failed(self) -> list[str]:
        return [key for key, outcome in self.outcomes.items() if outcome == 'failed']


def key_of(classname: str, name: str) -> str:
    """``test_x.py::TestClass::test_y[param]`` from JUnit's dotted class name, without the folders the module is in."""
    parts = classname.split('.')
    start = next((i for i, part in enumerate(parts) if part.startswith('test_')), len(parts) - 1)
    return '::'.join(['.'.join(parts[start:start + 1]) + '.py', *parts[start + 1:], name])


def read_junit(path: Path, run: SuiteRun) -> None:
    for case in ET.parse(path).getroot().iter('testcase'):
        key = key_of(case.get('classname', ''), case.get('name', ''))
        run.seconds[key] = run.seconds.get(key, 0.0) + float(case.get('time') or 0.0)
        kinds = {child.tag for child in case}
        run.outcomes[key] = ('failed' if kinds & {'failure', 'error'} else 'skipped' if 'skipped' in kinds
                             else 'passed')


def run_suite(rev: str, label: str, work: Path, marks: str | None, keyword: str | None) -> SuiteRun:
    tree = work / label
    why_not = export(rev, tree)
    if why_not:
        raise SystemExit(f'bench_suite: {why_not}')
    junit = work / f'{label}.xml'
    command = [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', f'--junitxml={junit}', 'tests']
    if marks:
        command += ['-m', marks]
    if keyword:
        command += ['-k', keyword]
    env = {**os.environ, 'PYTHONPATH': str(tree)}
    if shutil.which('chromium') and shutil.which('chromedriver'):
        env['CODEFORMER_REQUIRE_BROWSER'] = '1'
    print(f'{label}: {" ".join(command[1:])} in a copy of {commit_of(rev)}', flush=True)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    run = SuiteRun(label, wall=time.perf_counter() - start)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    run.summary = lines[-1].strip('= ') if lines else f'pytest exited {proc.returncode}: {proc.stderr[-200:]}'
    if junit.exists():
        read_junit(junit, run)
    print(f'{label}: {run.summary}; {run.wall:.0f} s', flush=True)
    return run


def report(before: SuiteRun, now: SuiteRun, top: int) -> str:
    both = sorted(set(before.seconds) & set(now.seconds))
    only_before = sorted(set(before.seconds) - set(now.seconds))
    only_now = sorted(set(now.seconds) - set(before.seconds))
    both_before = sum(before.seconds[k] for k in both)
    both_now = sum(now.seconds[k] for k in both)
    lines = ['| suite | tests | wall s | summed test s |', '| --- | --- | --- | --- |']
    for run in (before, now):
        lines.append(f'| {run.label} | {len(run.seconds)} | {run.wall:.0f} | {sum(run.seconds.values()):.0f} |')
    ratio = both_now / both_before if both_before else float('nan')
    lines += ['', f'like for like: {len(both)} tests in both, {both_before:.0f} s before, {both_now:.0f} s now '
              f'({ratio:.2f}x)',
              f'only before (removed or renamed): {len(only_before)} tests, '
              f'{sum(before.seconds[k] for k in only_before):.0f} s',
              f'only now (added or renamed): {len(only_now)} tests, {sum(now.seconds[k] for k in only_now):.0f} s',
              f'whole suite: now / before = {now.wall / before.wall:.2f}x']
    changes = sorted(both, key=lambda k: now.seconds[k] - before.seconds[k], reverse=True)[:top]
    lines += ['', f'largest increases among tests in both (top {top}):']
    lines += [f'  {now.seconds[k] - before.seconds[k]:+7.1f} s  {before.seconds[k]:6.1f} -> {now.seconds[k]:6.1f}  {k}'
              for k in changes]
    lines += ['', f'slowest tests now (top {top}):']
    lines += [f'  {now.seconds[k]:7.1f} s  {k}' for k in sorted(now.seconds, key=now.seconds.get, reverse=True)[:top]]
    for run in (before, now):
        if run.failed():
            lines += ['', f'{run.label}: {len(run.failed())} failed: {", ".join(run.failed()[:8])}']
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--before', default=BEFORE, help='the earlier revision (default: %(default)s)')
    parser.add_argument('--now', default='HEAD', help='the revision timed beside it (default: %(default)s)')
    parser.add_argument('--marks', default=None, help="pytest's -m for both, e.g. 'not slow' (default: every test)")
    parser.add_argument('-k', dest='keyword', default=None, help="pytest's -k for both (a quick look)")
    parser.add_argument('--first', choices=('before', 'now'), default='before', help='which suite runs first')
    parser.add_argument('--top', type=int, default=12, help='how many tests to list as slowest and most slowed')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='bench_suite_') as tmp:
        order = [('before', args.before), ('now', args.now)]
        if args.first == 'now':
            order.reverse()
        runs = {label: run_suite(rev, f'{label}', Path(tmp), args.marks, args.keyword) for label, rev in order}
    runs['before'].label = f'before ({commit_of(args.before)})'
    runs['now'].label = f'now ({commit_of(args.now)})'
    print()
    print(report(runs['before'], runs['now'], args.top))
    return 1 if any(run.failed() for run in runs.values()) else 0


if __name__ == '__main__':
    sys.exit(main())

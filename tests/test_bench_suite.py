"""benchmarks/bench_suite.py: two revisions' suites timed in one run, matched test by test wherever a module moved."""
import re
import subprocess

import pytest

from benchmarks.bench_suite import BEFORE, SuiteRun, key_of, report
from benchmarks.revisions import ROOT
from tests.support.cli import run_script


def test_tests_are_matched_by_module_and_name_wherever_the_module_lives():
    assert key_of('tests.batch.test_run', 'test_x[a-b]') == 'test_run.py::test_x[a-b]'
    assert key_of('tests.cli.test_run', 'test_x[a-b]') == 'test_run.py::test_x[a-b]'
    assert key_of('tests.serve.test_app.TestLimits', 'test_y') == 'test_app.py::TestLimits::test_y'


def test_the_report_sets_tests_in_both_apart_from_added_and_removed_ones():
    before = SuiteRun('before', wall=100.0, seconds={'a.py::t1': 10.0, 'a.py::t2': 5.0, 'b.py::gone': 3.0})
    now = SuiteRun('now', wall=150.0, seconds={'a.py::t1': 8.0, 'a.py::t2': 5.0, 'c.py::new': 40.0})
    text = report(before, now, top=2)
    assert 'like for like: 2 tests in both, 15 s before, 13 s now (0.87x)' in text
    assert 'only before (removed or renamed): 1 tests, 3 s' in text
    assert 'only now (added or renamed): 1 tests, 40 s' in text
    assert 'whole suite: now / before = 1.50x' in text


@pytest.mark.slow  # two pytest runs in copies taken from git
def test_bench_suite_runs_both_revisions_from_git():
    if subprocess.run(['git', '-C', str(ROOT), 'cat-file', '-e', f'{BEFORE}^{{commit}}']).returncode:
        pytest.skip(f'no revision {BEFORE} in this clone')
    proc = run_script('benchmarks/bench_suite.py', '-k', 'test_gray_detection_and_channel_restoration', '--top', '1',
                      timeout=600)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert re.search(r'^like for like: 1 tests in both, \d+ s before, \d+ s now', proc.stdout, re.M), proc.stdout
    assert re.search(r'^\| before \(8d97b32\) \| 1 \| \d+ \|', proc.stdout, re.M), proc.stdout

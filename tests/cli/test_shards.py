"""--shard K/N and --shard auto, as torchrun or Slurm start them, and codeformer merge-reports: the real command
line in subprocesses on real image files."""
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from codeformer.batch.shards import shard_of
from codeformer.utils.image_io import write_image
from tests.support.cli import ROOT, run_script, start_script

FACE = ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'
# shard_of(name, 2): face0 0, face1 1, face2 1, face3 0, g.jpg / g.png in different shards, deep 1, alpha 0, broken 0
NAMES = ['face0.png', 'face1.png', 'face2.png', 'face3.png', 'g.jpg', 'g.png', 'deep.png', 'alpha.png', 'broken.jpg']


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    src = tmp_path_factory.mktemp('archive') / 'faces'
    face = cv2.imread(str(FACE))
    for k, name in enumerate(NAMES[:6]):
        write_image(src / name, np.roll(face, 16 * k, axis=1))
    write_image(src / 'deep.png', face.astype(np.uint16) * 257)
    write_image(src / 'alpha.png', np.dstack([face, np.full(face.shape[:2], 200, np.uint8)]))
    (src / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0garbage')
    return src


def restore(checkpoint, src, out, *extra, env=None, start=False):
    args = ('restore', '-w', '0.5', '--has_aligned', '-i', str(src), '-o', str(out), '--model_path',
            str(checkpoint), '--device', 'cpu', '--batch_size', '2', '-q', *extra)
    # one thread each: two shards share this machine's two cores, as two processes on one node would
    return (start_script if start else run_script)('-m codeformer', *args, env={'OMP_NUM_THREADS': '1', **(env or {})})


def outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob('*')) if p.is_file()}


def without_times(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ('seconds', 'info')} | {'faces': r.get('info', {}).get('faces')}
            for r in records]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, checkpoint, folder):
    """One single run, and two shards started at once into one output folder, each told its rank as torchrun
    tells it: (folder, the shards' exit codes and stderr)."""
    tmp = tmp_path_factory.mktemp('runs')
    single = restore(checkpoint, folder, tmp / 'single', '--report', str(tmp / 'single.json'))
    assert single.returncode == 1, single.stderr
    procs = [restore(checkpoint, folder, tmp / 'sharded', '--shard', 'auto', '--report', str(tmp / 'report.json'),
                     env={'RANK': str(rank), 'WORLD_SIZE': '2'}, start=True) for rank in (0, 1)]
    return tmp, [(p.wait(timeout=300), p.communicate()[1]) for p in procs]


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_two_shards_as_torchrun_starts_them_equal_one_run(runs):
    tmp, results = runs
    # broken.jpg is in shard 0: its one error line there (exit 1); shard 1 has none (exit 0)
    assert results[0][0] == 1 and results[1][0] == 0, results
    errors = [line for line in results[0][1].splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'broken.jpg' in errors[0]
    assert not any(line.startswith('error:') for line in results[1][1].splitlines())

    assert outputs(tmp / 'sharded') == outputs(tmp / 'single')  # byte for byte, names included
    assert {'restored_faces/g_jpg.png', 'restored_faces/g_png.png'} <= set(outputs(tmp / 'single'))
    shard_reports = [json.loads((tmp / f'report.{k}-of-2.json').read_text()) for k in (0, 1)]
    inputs = [{Path(r['input']).name for r in report} for report in shard_reports]
    assert inputs[0] == {n for n in NAMES if shard_of(n, 2) == 0} and inputs[1] == set(NAMES) - inputs[0]
    written = [out for report in shard_reports for r in report for out in r.get('outputs', [])]
    assert len(written) == len(set(written)) == 8  # no file done twice

    merged = run_script('-m codeformer', 'merge-reports', '-o', str(tmp / 'merged.json'),
                        str(tmp / 'report.1-of-2.json'), str(tmp / 'report.0-of-2.json'))
    assert merged.returncode == 1, merged.stderr  # the run had a failed input
    assert 'merged: 2 reports, 9 inputs: 8 done, 1 failed' in merged.stderr
    merged_records = json.loads((tmp / 'merged.json').read_text())
    single_records = json.loads((tmp / 'single.json').read_text())
    assert [[Path(o).relative_to(tmp / 'sharded') for o in r.get('outputs', [])] for r in merged_records] == \
        [[Path(o).relative_to(tmp / 'single') for o in r.get('outputs', [])] for r in single_records]
    assert [{**r, 'outputs': None} for r in without_times(merged_records)] == \
        [{**r, 'outputs': None} for r in without_times(single_records)]


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_skip_existing_across_shards_finishes_only_what_is_missing(runs, tmp_path, checkpoint, folder):
    out = tmp_path / 'out'
    shutil.copytree(runs[0] / 'sharded', out)
    # the node of shard 1 was lost: its results are gone (one of them left half-written, as a temporary file)
    lost = sorted(n for n in NAMES[:-1] if shard_of(n, 2) == 1)
    for name in ('face1', 'face2', 'g_jpg', 'deep'):
        (out / 'restored_faces' / f'{name}.png').unlink()
    (out / 'restored_faces' / '.face1.png.x.tmp').write_bytes(b'partial')
    kept = outputs(out)
    rerun = restore(checkpoint, folder, out, '--shard', '1/2', '--skip_existing', '--report',
                    str(tmp_path / 'again.json'))
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads((tmp_path / 'again.1-of-2.json').read_text())
    assert sorted(Path(r['input']).name for r in report if r.get('outputs')) == lost
    assert [r for r in report if not r.get('outputs')] == []
    # kept results untouched, lost ones back as they were; one process over everything has nothing left to do
    assert {k: v for k, v in outputs(out).items() if k in kept} == kept
    assert {k: v for k, v in outputs(out).items() if 'tmp' not in k} == outputs(runs[0] / 'sharded')
    final = restore(checkpoint, folder, out, '--skip_existing', '--report', str(tmp_path / 'last.json'))
    assert final.returncode == 1  # broken.jpg again
    last = json.loads((tmp_path / 'last.json').read_text())
    assert all(r['status'] == 'skipped' or 'broken' in r['input'] for r in last)


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_bad_shard_options_and_reports_are_one_line(tmp_path, checkpoint, folder):
    for extra, env, expected in ((['--shard', '2/2'], {}, 'K must be in [0, N-1]'),
                                 (['--shard', 'half'], {}, 'expected K/N'),
                                 (['--shard', 'auto'], {'RANK': 'x', 'WORLD_SIZE': '2'}, "RANK='x'"),
                                 (['--shard', '0/2', '--ray'], {}, 'not allowed with argument')):
        proc = restore(checkpoint, folder, tmp_path / 'out', *extra, env=env)
        assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
        assert not (tmp_path / 'out').exists()
    good = tmp_path / 'r.0-of-2.json'
    good.write_text(json.dumps([{'input': 'x.png', 'status': 'done', 'outputs': ['o/x.png']}]))
    missing = run_script('-m codeformer', 'merge-reports', '-o', str(tmp_path / 'm.json'), str(good))
    assert missing.returncode == 1 and 'r.1-of-2.json: this shard\'s report is missing' in missing.stderr
    expected = [{'input': 'x.png', 'kind': 'image', 'status': 'done', 'outputs': ['o/x.png']}]
    assert json.loads((tmp_path / 'm.json').read_text()) == expected
    (tmp_path / 'bad.json').write_text('{"not": "a list"')
    bad = run_script('-m codeformer', 'merge-reports', '-o', str(tmp_path / 'n.json'), str(good),
                     str(tmp_path / 'bad.json'))
    assert bad.returncode == 2 and not (tmp_path / 'n.json').exists()
    assert [line for line in bad.stderr.splitlines() if line] == [line for line in bad.stderr.splitlines()
                                                                   if line.startswith('error:') and 'bad.json' in line]

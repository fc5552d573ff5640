"""Ctrl-C of ``codeformer serve`` (issue 30, point 8): mid-restore it took 41 s to exit (the worker's step ran on,
then three joins of up to 30 s each, and an open request held uvicorn's graceful shutdown). Now the running job
stops at its next check, the event streams end at once, the server waits a few seconds at most for the step under
way, and the exit lines say what happened to each job and where the finished results stay."""
import io
import signal
import time
import zipfile

import cv2
import numpy as np
import pytest

from tests.serve.test_events import faces_zip
from tests.support.events import EventStream
from tests.support.serve import start_server, two_faces

pytestmark = pytest.mark.slow  # a real server process, stopped by a signal

SLOW = 'stand_in_slow'  # ``tests.support.slow_detector`` (imported here it would register in this process too)


def wide_photo() -> bytes:
    """Wider than ``slow_detector.WIDE``: its detection is the long step."""
    scene = two_faces()
    return cv2.imencode('.png', np.hstack([scene, scene]))[1].tobytes()


def test_ctrl_c_mid_batch_exits_soon_keeps_the_finished_results_and_says_so(checkpoint, tmp_path, monkeypatch):
    """SIGINT while the third of five files is in a long step: the first two stay, the stream ends, the exit takes
    seconds (today's code: about 60 s, the worker joined twice for 30 s), and the exit lines say so."""
    mark = tmp_path / 'slow step begun'
    monkeypatch.setenv('CODEFORMER_PLUGINS', 'tests.support.slow_detector')
    monkeypatch.setenv('CODEFORMER_SLOW_MARK', str(mark))
    out = tmp_path / 'out'
    served = start_server(checkpoint, tmp_path / 'srv', '--output_dir', str(out), '--batch_size', '1',
                          options=('--detection_model', SLOW, '--no_parse', '--device', 'cpu'))
    archive = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(faces_zip(2))) as small, zipfile.ZipFile(archive, 'w') as z:
        for name in small.namelist():
            z.writestr(name, small.read(name))
        z.writestr('group.png', wide_photo())  # third: in its long step when the signal comes
        for name in small.namelist():
            z.writestr(f'later {name}', small.read(name))
    try:
        with EventStream(served.url, 'exit') as stream:
            assert stream.status == 200
            lists = stream.job_lists()
            next(lists)
            batch = served.json('POST', '/api/batches', headers={'X-Codeformer-Client': 'exit'})['id']
            served.json('POST', f'/api/batches/{batch}/files?name=faces.zip', archive.getvalue())
            served.json('POST', f'/api/batches/{batch}/start', {'settings': {'upscale': 1}},
                        headers={'X-Codeformer-Client': 'exit'})
            for jobs in lists:
                if mark.exists() or jobs[0]['state'] not in ('queued', 'running'):
                    break
            assert mark.exists(), jobs
            started = time.monotonic()
            served.process.send_signal(signal.SIGINT)
            rest = [name for name, _ in stream.events()]  # the server ends the stream: it holds nothing up
        code = served.process.wait(timeout=120)
        took = time.monotonic() - started
    finally:
        served.stop()
    log = served.log.read_text().splitlines()
    assert 'closing' in rest, rest
    assert code == 130 and took < 15, (code, took, log[-5:])  # a liveness bound: it was 41 s
    results = out.resolve()
    assert log[-1] == f'stopped: the server stopped; its uploads were removed, the results stay in {results}'
    assert not list((tmp_path / 'srv').glob('codeformer-serve-*'))  # removed indeed
    assert log[-2] == (f'stopped: batch "5 files: face00.png, face01.png, group.png ...": cut off in its step after 2 '
                       f'of 5 files; their results stay in {results}')
    kept = sorted(p.name for p in (out / 'final_results').iterdir())
    assert kept == ['face00.png', 'face01.png'], kept
    for name in kept:
        assert cv2.imread(str(out / 'final_results' / name)) is not None  # whole files only
    assert not list(out.rglob('.*.tmp'))

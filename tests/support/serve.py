"""A real ``codeformer serve`` in a subprocess (small network, MTCNN, no parsing), and a small HTTP client for it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tests.support.cli import ROOT

SCENE = ROOT / 'inputs' / 'whole_imgs' / 'astronaut.jpg'
SERVE_OPTIONS = ('--detection_model', 'mtcnn', '--no_parse', '--device', 'cpu')


def two_faces() -> np.ndarray:
    """A 1024x512 photo with two faces (the astronaut and her mirror image), about 100 px each."""
    img = cv2.imread(str(SCENE))
    return np.ascontiguousarray(np.hstack([img, img[:, ::-1]]))


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    tmp: Path  # the server's TMPDIR: its private folder is made in it
    log: Path

    @property
    def results(self) -> Path:
        """The server's output folder (``--output_dir``): what stays after it stops."""
        return self.tmp.parent / f'{self.tmp.name}-results'

    def request(self, method: str, path: str, body: bytes | dict | None = None, timeout: float = 120,
                headers: dict | None = None):
        """(status, headers, body bytes) of a request; JSON bodies for dicts."""
        headers = dict(headers or {})
        if isinstance(body, dict):
            body, headers['Content-Type'] = json.dumps(body).encode(), 'application/json'
        req = urllib.request.Request(self.url + path.lstrip('/'), data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, method: str, path: str, body: bytes | dict | None = None, expect: int = 200,
             headers: dict | None = None):
        status, _, data = self.request(method, path, body, headers=headers)
        assert status == expect, (status, data[:500])
        return json.loads(data)

    def wait_job(self, job_id: str, timeout: float = 120) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            job = self.json('GET', f'/api/jobs/{job_id}')
            if job['state'] not in ('queued', 'running'):
                return job
            time.sleep(0.2)
        raise AssertionError(f'job {job_id} still {job["state"]} after {timeout} s')

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(checkpoint: Path, tmp: Path, *args: str, options: tuple = SERVE_OPTIONS) -> Served:
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp.parent / f'{tmp.name}.log'
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'TMPDIR': str(tmp), 'OMP_NUM_THREADS': '1',
           'CODEFORMER_MIRROR': 'http://127.0.0.1:9/none'}
    cmd = [sys.executable, '-c', 'import sys; from codeformer.commands import main; sys.exit(main())', 'serve',
           '--port', '0', '--model_path', str(checkpoint), *options,
           '--output_dir', str(tmp.parent / f'{tmp.name}-results'), *args]
    with open(log, 'wb') as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        text = log.read_text(errors='replace')
        for line in text.splitlines():
            if line.startswith('codeformer serve: http://'):
                return Served(line.split()[2], process, tmp, log)
        if process.poll() is not None:
            raise AssertionError(f'the server stopped: {text}')
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f'the server did not start: {log.read_text()}')

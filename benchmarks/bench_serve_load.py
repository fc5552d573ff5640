"""``codeformer serve`` under load: many clients at once against a real server, and what it answers.

    python benchmarks/bench_serve_load.py [--clients 16] [--requests 20] [--quick]

A real ``codeformer serve`` on 127.0.0.1 (a subprocess; the small stand-in network the tests use, MTCNN, no
parsing) with low limits (one job waiting, a few network requests waiting), so that the load goes past them. At
once: ``--clients`` photo clients (each a browser tab of its own: upload a photo, then ``w`` changes that restore
it, fetching the result now and then, another upload every few requests), two batch clients (upload files, start
the batch) and one video client (upload a clip, start it), while one more client times ``GET /`` (the page itself)
every 0.1 s. A request answered 503 is asked again after its ``Retry-After`` (at most 5 s here). Before the load,
the same work runs one client at a time on a fresh server: the memory it needs alone.

Printed: the CPU; requests answered by status; the 503 answers and whether each had ``Retry-After``; connections
reset; ``GET /`` latency p50/p95 during the load; the server's peak memory (VmHWM) under load against alone; results
in the output folder against what was accepted (each photo restored, each batch file, the video).

Gates (exit 1 when one is missed): no 5xx but 503 with ``Retry-After``, no connection reset or request failed
otherwise, at least one 503 (the limits were reached), ``GET /`` p95 under 1 s, peak memory within 1.5x of alone,
every accepted result on disk. ``--quick``: 4 clients x 5 requests, small batches and clip (for the tests).
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.nets import save_checkpoint, small_codeformer  # noqa: E402
from tests.support.serve import start_server, two_faces  # noqa: E402

P95_LIMIT_S = 1.0
MEMORY_RATIO = 1.5
MOST_WAIT_S = 5.0  # the longest Retry-After honoured here (the server may say more for a long job)
RESET = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.RemoteDisconnected)


def cpu_model() -> str:
    """The CPU's name, from lscpu or /proc/cpuinfo."""
    import subprocess
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith('Model name:'):
                return line.split(':', 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown CPU'


@dataclass
class Tally:
    """What every client saw, shared between their threads."""
    statuses: Counter = field(default_factory=Counter)
    busy: int = 0  # 503 with Retry-After
    busy_without_retry: int = 0
    resets: int = 0
    failures: list[str] = field(default_factory=list)  # anything else that went wrong, one line each
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int, retry_after: str | None) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 503:
                if retry_after and retry_after.isdigit():
                    self.busy += 1
                else:
                    self.busy_without_retry += 1

    def fail(self, line: str) -> None:
        with self.lock:
            self.failures.append(line)


class Client:
    """One browser tab's worth of HTTP: a new connection a request, its tab id on each, 503s asked again."""

    def __init__(self, url: str, tab: str, tally: Tally):
        parts = urlsplit(url)
        self.host, self.port, self.tab, self.tally = parts.hostname, parts.port, tab, tally

    def once(self, method: str, path: str, body: bytes | None = None, json_body: dict | None = None,
             timeout: float = 300) -> tuple[int, dict, bytes]:
        headers = {'X-Codeformer-Client': self.tab}
        if json_body is not None:
            body, headers['Content-Type'] = json.dumps(json_body).encode(), 'application/json'
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            conn.close()

    def ask(self, method: str, path: str, body: bytes | None = None, json_body: dict | None = None,
            tries: int = 60) -> tuple[int, bytes] | None:
        """The answer, asking again after a 503's Retry-After; None when the connection failed (counted)."""
        for _ in range(tries):
            try:
                status, headers, data = self.once(method, path, body, json_body)
            except RESET as exc:
                with self.tally.lock:
                    self.tally.resets += 1
                self.tally.fail(f'{method} {path}: connection reset ({type(exc).__name__})')
                return None
            except OSError as exc:
                self.tally.fail(f'{method} {path}: {type(exc).__name__}: {exc}')
                return None
            self.tally.add(status, headers.get('retry-after'))
            if status != 503:
                return status, data
            retry = headers.get('retry-after', '1')
            time.sleep(min(MOST_WAIT_S, float(retry) if retry.isdigit() else 1.0) * random.uniform(0.5, 1.0))
        self.tally.fail(f'{method} {path}: still busy after {tries} tries')
        return None

    def json(self, method: str, path: str, **kwargs) -> dict | None:
        answer = self.ask(method, path, **kwargs)
        if answer is None:
            return None
        status, data = answer
        if status != 200:
            self.tally.fail(f'{method} {path}: {status} {data[:200]!r}')
            return None
        return json.loads(data)


@dataclass
class Expected:
    """What the output folder must hold once the run is over, by what the server accepted."""
    photos: set[str] = field(default_factory=set)  # final_results/<name> of each photo restored
    batch_files: set[str] = field(default_factory=set)
    videos: set[str] = field(default_factory=set)  # stems
    jobs: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def photo_client(url: str, index: int, requests: int, face: bytes, tally: Tally, expected: Expected) -> None:
    """Upload a photo, then w changes (restores), a result fetched every third, a new upload every seventh."""
    client = Client(url, f'photo-{index:02d}', tally)
    rng = random.Random(index)
    photo, uploads, version = None, 0, None
    for i in range(requests):
        if photo is None or i % 7 == 6:
            uploads += 1
            name = f'c{index:02d}-{uploads}.png'
            got = client.json('POST', f'/api/photos?name={quote(name)}&detector=mtcnn', body=face)
            if got:
                photo, version = {'id': got['id'], 'name': name}, None
        elif i % 3 == 2 and version is not None:
            answer = client.ask('GET', f'/api/photos/{photo["id"]}/result.png?v={version}')
            if answer is not None and answer[0] != 200:
                tally.fail(f'GET result.png: {answer[0]} {answer[1][:200]!r}')
        else:
            w = round(rng.uniform(0, 1), 2)
            got = client.json('POST', f'/api/photos/{photo["id"]}/restore',
                              json_body={'settings': {'w': w, 'upscale': 1}, 'faces': [0]})
            if got:
                version = got['version']
                with expected.lock:
                    expected.photos.add(f'final_results/{photo["name"]}')


def wait_job(client: Client, job_id: str) -> dict | None:
    while True:
        job = client.json('GET', f'/api/jobs/{job_id}')
        if job is None or job['state'] not in ('queued', 'running'):
            return job
        time.sleep(0.2)


def job_client(url: str, kind: str, index: int, payload: list[tuple[str, bytes]], start: threading.Barrier | None,
               tally: Tally, expected: Expected) -> None:
    """A batch of ``payload`` files, or a video (one file): uploaded, then started with the others at once."""
    client = Client(url, f'{kind}-{index}', tally)
    if kind == 'batch':
        batch = client.json('POST', '/api/batches')
        if batch is None:
            return
        for name, data in payload:
            client.json('POST', f'/api/batches/{batch["id"]}/files?name={quote(name)}', body=data)
        path = f'/api/batches/{batch["id"]}/start'
    else:
        (name, data), = payload
        video = client.json('POST', f'/api/videos?name={quote(name)}', body=data)
        if video is None:
            return
        path = f'/api/videos/{video["id"]}/start'
    if start is not None:
        start.wait(120)
    job = client.json('POST', path, json_body={'settings': {'upscale': 1}})
    if job is None:
        return
    with expected.lock:
        expected.jobs += 1
    finished = wait_job(client, job['id'])
    if finished is None or finished['state'] != 'done':
        tally.fail(f'{kind} job {job["id"]}: {finished and finished["state"]}: {finished and finished["message"]}')
        return
    with expected.lock:
        if kind == 'batch':
            expected.batch_files.update(f'final_results/{Path(n).stem}.png' for n, _ in payload)
        else:
            expected.videos.add(Path(payload[0][0]).stem)


def memory_mb(pid: int, key: str = 'VmHWM') -> float:
    """The process's peak resident memory so far (``VmHWM``), or its resident memory now (``VmRSS``), in MB."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith(f'{key}:'):
            return int(line.split()[1]) / 1024
    return float('nan')


def page_prober(url: str, stop: threading.Event, latencies: list[float], tally: Tally) -> None:
    """``GET /`` every 0.1 s while the load runs: how long the page itself takes to come."""
    client = Client(url, 'prober', tally)
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            status, _, _ = client.once('GET', '/', timeout=30)
        except RESET:
            with tally.lock:
                tally.resets += 1
            continue
        except OSError as exc:
            tally.fail(f'GET /: {type(exc).__name__}: {exc}')
            continue
        latencies.append(time.perf_counter() - t0)
        tally.add(status, None)
        stop.wait(0.1)


@dataclass
class Run:
    tally: Tally
    expected: Expected
    latencies: list[float]
    peak_mb: float
    started_mb: float  # resident once the server was ready, before any request
    seconds: float
    output: Path


def run(checkpoint: Path, tmp: Path, name: str, clients: int, requests: int, batch_files: int, frames: int,
        together: bool) -> Run:
    """One server, the work on it (all at once when ``together``, else one client after another)."""
    from tests.video.test_loop import make_clip
    face = cv2.imencode('.png', two_faces()[:, :512])[1].tobytes()
    jpeg = cv2.imencode('.jpg', two_faces()[:, :512])[1].tobytes()
    clip = make_clip(tmp / f'{name}.mp4', frames=frames, size=128, audio=None).read_bytes()
    tasks = str(max(2, clients // 2))
    served = start_server(checkpoint, tmp / name, '-q', '--max_queued_jobs', '1', '--max_queued_jobs_per_client', '1',
                          '--max_waiting_tasks', tasks)
    started_mb = memory_mb(served.process.pid, 'VmRSS')
    tally, expected, latencies = Tally(), Expected(), []
    work = [threading.Thread(target=photo_client, args=(served.url, i, requests, face, tally, expected))
            for i in range(clients if together else 1)]
    barrier = threading.Barrier(3) if together else None
    for b in range(2 if together else 1):
        payload = [(f'b{b}-{k}.jpg', jpeg) for k in range(batch_files)]
        work.append(threading.Thread(target=job_client, args=(served.url, 'batch', b, payload, barrier, tally,
                                                              expected)))
    work.append(threading.Thread(target=job_client, args=(served.url, 'video', 0, [('clip.mp4', clip)], barrier,
                                                          tally, expected)))
    stop = threading.Event()
    prober = threading.Thread(target=page_prober, args=(served.url, stop, latencies, tally))
    t0 = time.perf_counter()
    try:
        prober.start()
        if together:
            for t in work:
                t.start()
            for t in work:
                t.join()
        else:
            for t in work:
                t.start()
                t.join()
        seconds = time.perf_counter() - t0
        stop.set()
        prober.join()
        wait_for_photos(served.results, expected)
        peak = memory_mb(served.process.pid)
    finally:
        stop.set()
        served.stop()
    return Run(tally, expected, latencies, peak, started_mb, seconds, served.results)


def wait_for_photos(output: Path, expected: Expected, most_s: float = 30) -> None:
    """A photo's result is written just after its answer: give the last ones time to land."""
    end = time.monotonic() + most_s
    while time.monotonic() < end and not all((output / p).is_file() for p in expected.photos):
        time.sleep(0.2)


def on_disk(run: Run) -> tuple[int, int]:
    """(results found, results expected) in the output folder."""
    expected = run.expected
    wanted = [run.output / p for p in expected.photos | expected.batch_files]
    found = sum(1 for p in wanted if p.is_file() and p.stat().st_size)
    videos = run.output / 'videos'
    found += sum(1 for stem in expected.videos if videos.is_dir() and any(videos.glob(f'{stem}*.mp4')))
    return found, len(wanted) + len(expected.videos)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float('nan')
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(alone: Run, load: Run, args: argparse.Namespace) -> int:
    """Print the figures and the gates; 0 when every gate passes, else 1. Called while the output folder is there."""
    tally = load.tally
    print(f'load: {args.clients} photo clients x {args.requests} requests, 2 batches of {args.batch_files} files, '
          f'1 video of {args.frames} frames, at once: {load.seconds:.1f} s')
    print('requests answered by status: ' + ', '.join(f'{s}: {n}' for s, n in sorted(tally.statuses.items())))
    other_5xx = sum(n for s, n in tally.statuses.items() if s >= 500 and s != 503)
    print(f'503 busy with Retry-After: {tally.busy} (without: {tally.busy_without_retry}); other 5xx: {other_5xx}; '
          f'connections reset: {tally.resets}; other failures: {len(tally.failures) - tally.resets}')
    for line in tally.failures[:10]:
        print(f'  {line}')
    p50, p95 = percentile(load.latencies, 0.5), percentile(load.latencies, 0.95)
    print(f'GET / during the load: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms ({len(load.latencies)} '
          'requests)')
    ratio = load.peak_mb / alone.peak_mb
    print(f'peak server memory: {load.peak_mb:.0f} MB under load, {alone.peak_mb:.0f} MB alone: {ratio:.2f}x '
          f'(above the ready server: +{load.peak_mb - load.started_mb:.0f} MB under load, '
          f'+{alone.peak_mb - alone.started_mb:.0f} MB alone)')
    found, wanted = on_disk(load)
    e = load.expected
    print(f'results on disk: {found} of {wanted} accepted ({len(e.photos)} photos restored, {len(e.batch_files)} '
          f'batch files, {len(e.videos)} video; {e.jobs} jobs accepted)')
    gates = [
        ('no 5xx but 503 with Retry-After', other_5xx == 0 and tally.busy_without_retry == 0),
        ('no connection reset, no request failed', tally.resets == 0 and not tally.failures),
        ('the limits were reached (a 503 with Retry-After)', tally.busy > 0),
        (f'GET / p95 under {P95_LIMIT_S:g} s', p95 < P95_LIMIT_S),
        (f'peak memory within {MEMORY_RATIO:g}x of alone', ratio <= MEMORY_RATIO),
        ('every accepted result on disk', found == wanted and e.jobs == 3),
    ]
    for label, passed in gates:
        print(f'gate: {label}: {"passes" if passed else "FAILS"}')
    return 0 if all(p for _, p in gates) else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--clients', type=int, default=16)
    ap.add_argument('--requests', type=int, default=20, help='requests of each photo client')
    ap.add_argument('--batch_files', type=int, default=6)
    ap.add_argument('--frames', type=int, default=50, help="the video's frames")
    ap.add_argument('--quick', action='store_true', help='4 clients x 5 requests, 2-file batches, a 10-frame clip')
    args = ap.parse_args(argv)
    if args.quick:
        args.clients, args.requests, args.batch_files, args.frames = 4, 5, 2, 10
    import torch
    print(f'CPU: {cpu_model()}; {torch.get_num_threads()} torch threads here; the server: small stand-in network, '
          'MTCNN, no parsing, --max_queued_jobs 1 --max_queued_jobs_per_client 1 '
          f'--max_waiting_tasks {max(2, args.clients // 2)}', flush=True)
    with tempfile.TemporaryDirectory(prefix='bench-serve-load-') as tmp:
        tmp = Path(tmp)
        checkpoint = save_checkpoint(small_codeformer(), tmp / 'net.pth')
        alone = run(checkpoint, tmp, 'alone', 1, args.requests, args.batch_files, args.frames, together=False)
        print(f'alone: 1 photo client x {args.requests} requests, then 1 batch of {args.batch_files} files, then '
              f'a {args.frames}-frame video: {alone.seconds:.1f} s, peak server memory {alone.peak_mb:.0f} MB',
              flush=True)
        load = run(checkpoint, tmp, 'load', args.clients, args.requests, args.batch_files, args.frames, together=True)
        return report(alone, load, args)


if __name__ == '__main__':
    sys.exit(main())

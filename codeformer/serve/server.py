"""The state of one running server: its networks, the worker that runs them, the private folder, and the photos,
batches, videos and jobs of its pages."""
from __future__ import annotations

import asyncio
import importlib.util
import re
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from codeformer import __version__, weight_zoo
from codeformer.serve import videos
from codeformer.serve.batch import Batch
from codeformer.serve.limits import Limits
from codeformer.serve.photos import PhotoStore
from codeformer.serve.results import Results
from codeformer.serve.session import Models, Settings
from codeformer.serve.store import Storage
from codeformer.serve.worker import Worker, WorkerJob

if TYPE_CHECKING:
    from codeformer.registry import Registry

EXIT_WAIT_S = 5.0  # how long a stop waits for the network step under way to reach its next check
UNITS = {'batch': 'file', 'video': 'frame'}  # what a job counts, as its exit line says it

_SIZE_IN_HELP = re.compile(r'downloads (\d+(?:\.\d+)? [kKMG]B)')  # as the registries' help says: "downloads 104 MB"


class Server:
    """The state of one server: networks, worker, private folder, uploads and jobs."""

    def __init__(self, models: Models, defaults: Settings, max_pixels: int | None, max_upload: int,
                 batch_size: int = 1, output_dir: str = 'results/serve', limits: Limits | None = None):
        self.models, self.defaults = models, defaults
        self.results = Results(output_dir)
        self.max_pixels, self.max_upload, self.batch_size = max_pixels, max_upload, batch_size
        self.limits = limits or Limits()
        self.storage = Storage(max_bytes=self.limits.stored_bytes)
        self.worker = Worker(self.limits)
        self.photos = PhotoStore(self.limits.photos, self.limits.photos_per_tab)
        self.batches: dict[str, Batch] = {}
        self.videos: dict[str, videos.Video] = {}
        self.closing = False  # set by Ctrl-C: the event streams end, the jobs stop at their next check
        self.ended: list[str] = []  # what the stop did to each job, one line each, for the exit lines
        self._stopping: list[WorkerJob] = []
        self._deadline = 0.0
        self._close_lock = threading.Lock()
        self._closed = False

    async def on_worker(self, fn, *args, key: tuple | None = None, owner: str | None = None):
        """``fn(*args)`` run on the worker; a newer call with the same ``key`` replaces it while it waits. With an
        ``owner`` (the client asking) it counts against the limits on waiting tasks (``Busy`` beyond them)."""
        return await asyncio.wrap_future(self.worker.call(fn, *args, key=key, owner=owner))

    def begin_close(self) -> None:
        """Ctrl-C: end the event streams (an open one would hold uvicorn's graceful shutdown) and stop every job at
        its next check, while uvicorn closes the connections. Only sets flags: safe in a signal handler."""
        if self.closing:
            return
        self._deadline = time.monotonic() + EXIT_WAIT_S
        self.closing = True
        self._stopping = [j for j in list(self.worker.jobs.values()) if j.state in ('queued', 'running')]
        for job in self._stopping:
            job.stop.set()

    def close(self) -> None:
        """Stop the worker, waiting at most ``EXIT_WAIT_S`` (from the signal on) for the step under way: a network
        step has no check inside, and the exit must not wait on it (it took 41 s). Every finished result is in the
        output folder already. Then remove the private folder. Called again, it does nothing."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            self.begin_close()
            closer = threading.Thread(target=self.worker.close, name='codeformer-close', daemon=True)
            closer.start()
            closer.join(max(0.5, self._deadline - time.monotonic()))
            self.ended = [self._ending(job, cut_off=closer.is_alive()) for job in self._stopping]
            self.storage.close()

    def _ending(self, job: WorkerJob, cut_off: bool) -> str:
        """What the stop did to ``job``, in one line whose count is that of the results kept."""
        status = job.status()
        state, what = status['state'], f'{job.kind} "{job.name}"'
        count = f'{status["done"]} of {status["total"]} {UNITS.get(job.kind, "item")}s'
        if state == 'queued' or job.started is None:
            return f'{what}: not started'
        if state == 'failed':
            return f'{what}: failed: {job.message}'
        if state == 'done':
            return f'{what}: finished before the stop ({count}); its results stay in {self.results.root}'
        how = 'cut off in its step' if cut_off or state == 'running' else 'stopped'
        if job.kind != 'video':
            return f'{what}: {how} after {count}; their results stay in {self.results.root}'
        if how == 'stopped' and status.get('partial'):
            return f'{what}: stopped after {count}; they stay as a partial video in {self.results.root / "videos"}'
        return f'{what}: {how} after {count}; no partial video was written'

    def info(self) -> dict:
        from codeformer.detection import DETECTORS
        from codeformer.upsamplers import UPSAMPLERS
        return {'version': __version__, 'defaults': asdict(self.defaults), 'detectors': list(DETECTORS),
                'upsamplers': list(UPSAMPLERS),
                'downloads': {'detectors': downloads(DETECTORS), 'upsamplers': downloads(UPSAMPLERS)},
                'model': self.models.model_name or 'released', 'max_pixels': self.max_pixels,
                'max_upload_bytes': self.max_upload, 'output_dir': str(self.results.root),
                'limits': asdict(self.limits)}

    def job_status(self, job: WorkerJob) -> dict:
        return job.status(self.worker.queue_position(job))

    def start(self, job: WorkerJob, client: str | None = None, owner: str | None = None) -> dict:
        """Queue ``job`` on the worker for the browser tab ``client`` (its limits counted for ``owner``: the tab,
        else the remote address); its first status, for the page. ``Busy`` when the queue is full."""
        job.client, job.owner = client, owner or client
        self.worker.submit(job)
        return self.job_status(job)


def downloads(registry: Registry) -> dict[str, dict]:
    """name -> {size, present} for the plug-ins of ``registry`` that download weights on first use, so that the page
    can say so before a choice waits on (or, offline, fails at) a download; ``present``: all already here."""
    found = {}
    for name, entry in registry.items():
        if entry.downloads:
            size = _SIZE_IN_HELP.search(entry.help)
            found[name] = {'size': size.group(1) if size else None,
                           'present': all(_weights_present(key) for key in entry.weights)}
    return found


def _weights_present(key: str) -> bool:
    """The weight file ``key`` where the weight zoo looks, or (dlib's files) in the ``face_recognition_models``
    package, which the dlib detector takes first."""
    if key in weight_zoo.ZOO and weight_zoo.find(key) is not None:
        return True
    from codeformer.detection.dlib_mmod import FILES
    spec = importlib.util.find_spec('face_recognition_models') if key in FILES else None
    if spec is None or not spec.submodule_search_locations:
        return False
    return (Path(next(iter(spec.submodule_search_locations))) / 'models' / FILES[key]).is_file()

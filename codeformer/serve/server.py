"""The state of one running server: its networks, the worker that runs them, the private folder, and the photos,
batches, videos and jobs of its pages."""
from __future__ import annotations

import asyncio
from dataclasses import asdict

from codeformer import __version__
from codeformer.serve import videos
from codeformer.serve.batch import Batch
from codeformer.serve.limits import Limits
from codeformer.serve.photos import PhotoStore
from codeformer.serve.results import Results
from codeformer.serve.session import Models, Settings
from codeformer.serve.store import Storage
from codeformer.serve.worker import Worker, WorkerJob


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

    async def on_worker(self, fn, *args, key: tuple | None = None, owner: str | None = None):
        """``fn(*args)`` run on the worker; a newer call with the same ``key`` replaces it while it waits. With an
        ``owner`` (the client asking) it counts against the limits on waiting tasks (``Busy`` beyond them)."""
        return await asyncio.wrap_future(self.worker.call(fn, *args, key=key, owner=owner))

    def close(self) -> None:
        self.worker.close()
        self.storage.close()

    def info(self) -> dict:
        from codeformer.detection import DETECTORS
        from codeformer.upsamplers import UPSAMPLERS
        return {'version': __version__, 'defaults': asdict(self.defaults), 'detectors': list(DETECTORS),
                'upsamplers': list(UPSAMPLERS),
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

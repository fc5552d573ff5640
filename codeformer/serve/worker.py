"""The one thread that runs networks: short tasks from the page (detect, restore a photo, preview a video frame)
and long jobs (a batch, a video) one at a time, from a queue the page shows.

Short tasks go first: a running job calls ``checkpoint`` between its steps, which runs the tasks waiting then and
stops the job (raising ``JobStopped``) when Stop was pressed. A request never runs a network itself: it hands the
work here and awaits the ``Future``.

Both queues are bounded (``limits.Limits``): a task or job beyond a limit is refused at once with ``Busy`` (503 and
``Retry-After``) instead of waiting without end; the ones already queued are never dropped for it."""
from __future__ import annotations

import collections
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from codeformer.errors import CodeformerError
from codeformer.serve.limits import Limits
from codeformer.serve.store import Busy, RequestError

TASK_RETRY_S = 2  # Retry-After for a refused task: tasks take a second or so each
JOB_RETRY_S = 30  # Retry-After for a refused job, when the running job gives no estimate of its own


class JobStopped(KeyboardInterrupt):
    """Stop was pressed: raised in the worker at the job's next checkpoint. A ``KeyboardInterrupt``, so the batch and
    video loops stop the way they stop on Ctrl-C (only complete files, a playable partial video)."""


@dataclass
class WorkerJob:
    """A long piece of work and what the page shows of it."""
    id: str
    kind: str  # 'batch' or 'video'
    name: str
    progressed: float = 0.0  # when ``done`` or ``part`` last changed (set by ``__setattr__``)
    total: int = 0  # images or frames
    done: int = 0
    part: float = 0.0  # of the items under way, the share done (in items): faces restored within a group of files
    faces: int = 0
    state: str = 'queued'  # queued, running, done, stopped, failed
    message: str = ''
    errors: list[str] = field(default_factory=list)
    started: float | None = None
    finished: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    client: str | None = None  # the browser tab that started it (its own job list), None for scripts
    owner: str | None = None  # whose queue it counts against: the browser tab, else the remote address

    def __setattr__(self, name: str, value) -> None:
        if name in ('done', 'part') and value != getattr(self, name, None):
            object.__setattr__(self, 'progressed', time.monotonic())
        object.__setattr__(self, name, value)

    def run(self, worker: Worker) -> None:  # pragma: no cover - each kind has its own
        raise NotImplementedError

    def discard(self) -> None:
        """Remove the job's work files (its downloads) from the private folder: it has been cleared."""

    @property
    def progress(self) -> float:
        """Items done, counting the faces already restored of those under way."""
        return min(float(self.total or self.done), self.done + self.part)

    def seconds_left(self, now: float) -> float | None:
        """The time per item so far, for the items left, less the time since the last progress: it counts down
        while a step runs instead of climbing as the average rate falls. The first estimate comes with the first
        faces restored, not the first group of files finished."""
        progress = self.progress
        if self.state != 'running' or not (self.started and progress > 0 and self.total):
            return None
        since = max(self.progressed, self.started)
        per_item = (since - self.started) / progress
        return max(0.0, (self.total - progress) * per_item - (now - since))

    def status(self, position: int | None = None) -> dict:
        now = time.monotonic()
        elapsed = ((self.finished or now) - self.started) if self.started else 0.0
        left = self.seconds_left(now)
        return {'id': self.id, 'kind': self.kind, 'name': self.name, 'state': self.state, 'total': self.total,
                'done': self.done, 'progress': round(self.progress, 3), 'faces': self.faces,
                'faces_per_s': round(self.faces / elapsed, 3) if elapsed else 0,
                'seconds': round(elapsed, 2), 'seconds_left': None if left is None else round(left, 1),
                'message': self.message, 'errors': list(self.errors), 'position': position,
                'stopping': self.stop.is_set() and self.state in ('queued', 'running')}


class Worker:
    """The network thread, its queues bounded by ``limits``."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits.none()
        self._cond = threading.Condition()
        self._tasks: collections.deque[tuple[Future, Callable, tuple, tuple | None, str | None]] = collections.deque()
        self._queue: collections.deque[WorkerJob] = collections.deque()
        self.jobs: dict[str, WorkerJob] = {}
        self.current: WorkerJob | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name='codeformer-worker', daemon=True)
        self._thread.start()

    def call(self, fn: Callable, *args, key: tuple | None = None, owner: str | None = None) -> Future:
        """Run ``fn(*args)`` on the worker, before any further step of a job; its result or exception in a Future.

        A ``key`` (``('photo', id)``) makes the task replace a waiting one with the same key: only the newest of
        quick slider moves runs, the older ones fail at once with a 409 the page ignores. A task for an ``owner``
        (a client) counts against the limits on waiting tasks, and raises ``Busy`` beyond them; one without (the
        rest of a request already let in) does not."""
        future: Future = Future()
        with self._cond:
            replaced = [t for t in self._tasks if key is not None and t[3] == key]
            if owner is not None:
                self._check_tasks(owner, replaced)
            for old in replaced:
                self._tasks.remove(old)
                if old[0].set_running_or_notify_cancel():
                    old[0].set_exception(RequestError(f'replaced by a newer request for the same {key[0]}', 409))
            self._tasks.append((future, fn, args, key, owner))
            self._cond.notify()
        return future

    def check_tasks(self, owner: str) -> None:
        """``Busy`` if a task for ``owner`` would be refused now: said before an upload is read, not after."""
        with self._cond:
            self._check_tasks(owner, [])

    def _check_tasks(self, owner: str, replaced: list) -> None:
        limits = self.limits
        waiting = [t for t in self._tasks if not any(t is r for r in replaced)]
        if limits.waiting_tasks is not None and len(waiting) >= limits.waiting_tasks:
            raise Busy(f'busy: {len(waiting)} requests are waiting for the network already (the most this server '
                       f'takes); try again in a moment', TASK_RETRY_S)
        own = sum(1 for t in waiting if t[4] == owner)
        if limits.waiting_tasks_per_client is not None and own >= limits.waiting_tasks_per_client:
            raise Busy(f'busy: {own} of your requests are waiting for the network already (the most for one '
                       f'client); try again when they are done', TASK_RETRY_S)

    def submit(self, job: WorkerJob) -> None:
        """Queue ``job``; ``Busy`` (and nothing queued) when the queue, or its owner's share of it, is full."""
        with self._cond:
            limits = self.limits
            if limits.queued_jobs is not None and len(self._queue) >= limits.queued_jobs:
                raise Busy(f'busy: {len(self._queue)} jobs are waiting already (the most this server takes); try '
                           f'again when one has started', self._job_retry())
            own = sum(1 for j in self._queue if j.owner == job.owner)
            if limits.queued_jobs_per_client is not None and own >= limits.queued_jobs_per_client:
                raise Busy(f'busy: {own} of your jobs are waiting already (the most for one client); try again when '
                           f'one has started', self._job_retry())
            self.jobs[job.id] = job
            self._queue.append(job)
            self._cond.notify()

    def _job_retry(self) -> float:
        """When a place in the queue frees: the running job's time left, within reason."""
        left = self.current.seconds_left(time.monotonic()) if self.current is not None else None
        return JOB_RETRY_S if left is None else min(300.0, max(5.0, left))

    def forget(self, job: WorkerJob) -> bool:
        """Drop a finished ``job`` from the list (Clear on the page) and its work files; False if it has not
        finished."""
        with self._cond:
            if job.state in ('queued', 'running') or self.jobs.get(job.id) is not job:
                return False
            del self.jobs[job.id]
        job.discard()
        return True

    def stop(self, job: WorkerJob) -> None:
        """Stop ``job``: at once if it is waiting, at its next checkpoint if it runs."""
        with self._cond:
            job.stop.set()
            if job in self._queue:
                self._queue.remove(job)
                job.state, job.message = 'stopped', 'stopped before it started'

    def queue_position(self, job: WorkerJob) -> int | None:
        """0 for the running job, 1.. for those waiting, None for finished ones."""
        with self._cond:
            if job is self.current:
                return 0
            return self._queue.index(job) + 1 if job in self._queue else None

    def checkpoint(self, job: WorkerJob | None = None) -> None:
        """Run the waiting tasks; raise ``JobStopped`` if ``job`` is to stop. Called by jobs between steps."""
        self._run_tasks()
        if job is not None and job.stop.is_set():
            raise JobStopped()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            for job in self._queue:
                job.stop.set()
            if self.current is not None:
                self.current.stop.set()
            self._cond.notify()
        self._thread.join(timeout=30)

    def _run_tasks(self) -> None:
        while True:
            with self._cond:
                if not self._tasks:
                    return
                future, fn, args, _, _ = self._tasks.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001  (handed to the request that waits for it)
                if not isinstance(exc, CodeformerError | MemoryError):
                    traceback.print_exception(exc)
                future.set_exception(exc)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not (self._tasks or self._queue or self._closed):
                    self._cond.wait()
                if self._closed:
                    return
                job = self._queue.popleft() if self._queue and not self._tasks else None
                self.current = job
            if job is None:
                self._run_tasks()
                continue
            job.state, job.started = 'running', time.monotonic()
            try:
                job.run(self)
                if job.state == 'running':
                    job.state = 'done'
            except JobStopped:
                job.state = 'stopped'
                job.message = job.message or 'stopped; the results finished so far are kept'
            except BaseException as exc:  # noqa: BLE001  (the job fails, the worker and the server go on)
                if not isinstance(exc, CodeformerError):
                    traceback.print_exception(exc)
                job.state, job.message = 'failed', str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            finally:
                job.finished = time.monotonic()
                with self._cond:
                    self.current = None

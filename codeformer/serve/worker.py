"""The one thread that runs networks: short tasks from the page (detect, restore a photo, preview a video frame)
and long jobs (a batch, a video) one at a time, from a queue the page shows.

Short tasks go first: a running job calls ``checkpoint`` between its steps and after each network batch, which runs
the tasks waiting then and stops the job (raising ``JobStopped``) when Stop was pressed. A task (a photo's restore)
ends at its next network batch when its ``Cancel`` is set: by Stop, or by a newer task with the same key. A request
never runs a network itself: it hands the work here and awaits the ``Future``.

Both queues are bounded (``limits.Limits``): a task or job beyond a limit is refused at once with ``Busy`` (503 and
``Retry-After``) instead of waiting without end; the ones already queued are never dropped for it."""
from __future__ import annotations

import collections
import threading
import time
import traceback
from collections.abc import Callable, Collection
from concurrent.futures import Future
from dataclasses import dataclass, field

from codeformer.errors import CodeformerError
from codeformer.serve.limits import Limits
from codeformer.serve.store import Busy, RequestError

TASK_RETRY_S = 2  # Retry-After for a refused task: tasks take a second or so each
JOB_RETRY_S = 30  # Retry-After for a refused job, when the running job gives no estimate of its own
STOPPED = 'stopped'  # the reason of a task's ``Cancel`` when Stop was pressed


class JobStopped(KeyboardInterrupt):
    """Stop was pressed: raised in the worker at the job's next checkpoint. A ``KeyboardInterrupt``, so the batch and
    video loops stop the way they stop on Ctrl-C (only complete files, a playable partial video)."""


@dataclass
class Cancel:
    """Why a task is to end at its next network batch (None while it may go on): set from any thread, by Stop
    (``STOPPED``) or by a newer task with the same key (the answer the older request gets), read by the task."""
    reason: str | None = None

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason


PACE_RISE = 1.5  # an estimate of the time left never goes up by more than this factor at once
PACE_SHARE = 0.25  # progress over this share of the work (at least one item) halves the weight of older progress
LEAST_LEFT_S = 1.0  # what is said while items remain and the step under way is overdue: "about 1 s left"


@dataclass
class Pace:
    """The time left of a piece of work, from when its progress moved: the seconds an item takes, as the time spent
    over the items done with older progress weighing less (a slow group of files moves it part way, a slow start
    is soon forgotten), counted down while a step runs, never below what the steps not yet begun need, never 0
    while items remain, and never raised by more than ``PACE_RISE`` at once. The page showed 412 -> 772 -> 387 ->
    426 s in one batch, and "0 s left" with 4 of 6 video frames to go."""
    started: float
    total: float = 0.0
    progress: float = 0.0
    at: float = 0.0  # when the progress last moved
    step: float = 0.0  # how far it moved then
    seconds: float = 0.0  # the time spent, older progress weighing less
    items: float = 0.0  # the items done, weighed as ``seconds``
    estimate: float = 0.0  # seconds left when it last moved

    @property
    def per_item(self) -> float | None:
        return self.seconds / self.items if self.items > 0 else None

    def moved(self, progress: float, total: float, now: float) -> None:
        """The work is at ``progress`` items of ``total`` at ``now`` (a monotonic clock's seconds)."""
        step = progress - self.progress
        if step <= 0:  # no new work (a count taken again, a share under way handed over to the items done)
            self.total = total
            return
        said = self.seconds_left(now)
        older = 0.5 ** (step / max(1.0, PACE_SHARE * total))
        spent = max(0.0, now - (self.at if self.items > 0 else self.started))
        self.seconds, self.items = self.seconds * older + spent, self.items * older + step
        self.progress, self.total, self.at, self.step = progress, total, now, step
        estimate = max(0.0, total - progress) * self.per_item
        self.estimate = estimate if said is None else min(estimate, said * PACE_RISE)

    def seconds_left(self, now: float) -> float | None:
        """None until the first progress; then the estimate counted down, no less than the steps not yet begun need
        at the smoothed rate, and ``LEAST_LEFT_S`` while items remain."""
        per_item = self.per_item
        if per_item is None:
            return None
        left = self.total - self.progress
        if left <= 1e-9:
            return 0.0
        not_begun = max(0.0, left - self.step) * per_item
        return max(self.estimate - max(0.0, now - self.at), not_begun, LEAST_LEFT_S)


@dataclass
class WorkerJob:
    """A long piece of work and what the page shows of it."""
    id: str
    kind: str  # 'batch' or 'video'
    name: str
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
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)  # tests feed times in
    pace: Pace | None = field(default=None, repr=False, compare=False)  # the time left, from ``started`` on

    def __setattr__(self, name: str, value) -> None:
        changed = value != getattr(self, name, None)
        object.__setattr__(self, name, value)
        if name == 'started' and changed:
            object.__setattr__(self, 'pace', None if value is None else Pace(value))
        elif name in ('done', 'part') and changed and getattr(self, 'pace', None) is not None:
            self.pace.moved(self.progress, float(self.total or self.progress), self.clock())

    def run(self, worker: Worker) -> None:  # pragma: no cover - each kind has its own
        raise NotImplementedError

    def discard(self) -> None:
        """Remove the job's work files (its downloads) from the private folder: it has been cleared."""

    @property
    def progress(self) -> float:
        """Items done, counting the faces already restored of those under way."""
        return min(float(self.total or self.done), self.done + self.part)

    def seconds_left(self, now: float) -> float | None:
        """The ``Pace``'s estimate while the job runs: the first comes with the first faces restored, not the first
        group of files finished; it counts down while a step runs and never says 0 while items remain."""
        if self.state != 'running' or self.pace is None or not self.total:
            return None
        return self.pace.seconds_left(now)

    def status(self, position: int | None = None) -> dict:
        now = self.clock()
        elapsed = ((self.finished or now) - self.started) if self.started else 0.0
        left = self.seconds_left(now)
        return {'id': self.id, 'kind': self.kind, 'name': self.name, 'state': self.state, 'total': self.total,
                'done': self.done, 'progress': round(self.progress, 3), 'faces': self.faces,
                'faces_per_s': round(self.faces / elapsed, 3) if elapsed else 0,
                'seconds': round(elapsed, 2), 'seconds_left': None if left is None else round(left, 1),
                'message': self.message, 'errors': list(self.errors), 'position': position,
                'stopping': self.stop.is_set() and self.state in ('queued', 'running')}


@dataclass
class _Task:
    """A short piece of work waiting for the worker, or under way there."""
    future: Future
    fn: Callable
    args: tuple
    key: tuple | None
    owner: str | None
    cancel: Cancel

    def fail(self, reason: str) -> None:
        """End a task that has not started: its request answers 409 with ``reason``."""
        self.cancel.set(reason)
        if self.future.set_running_or_notify_cancel():
            self.future.set_exception(RequestError(reason, 409))


class Worker:
    """The network thread, its queues bounded by ``limits``."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits.none()
        self._cond = threading.Condition()
        self._tasks: collections.deque[_Task] = collections.deque()
        self._running: _Task | None = None  # the task under way, if any
        self._queue: collections.deque[WorkerJob] = collections.deque()
        self.jobs: dict[str, WorkerJob] = {}
        self.current: WorkerJob | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name='codeformer-worker', daemon=True)
        self._thread.start()

    def call(self, fn: Callable, *args, key: tuple | None = None, owner: str | None = None,
             cancel: Cancel | None = None) -> Future:
        """Run ``fn(*args)`` on the worker, before any further step of a job; its result or exception in a Future.

        A ``key`` (``('photo', id, side)``) makes the task replace a waiting one with the same key (only the newest
        of quick slider moves runs, the older ones fail at once with a 409 the page ignores) and end a running one
        at its next network batch: its ``cancel`` (which ``fn`` reads) is set with the same words. A task for an
        ``owner`` (a client) counts against the limits on waiting tasks, and raises ``Busy`` beyond them; one
        without (the rest of a request already let in) does not."""
        future: Future = Future()
        with self._cond:
            replaced = [t for t in self._tasks if key is not None and t.key == key]
            if owner is not None:
                self._check_tasks(owner, replaced)
            reason = f'replaced by a newer request for the same {key[0]}' if key else ''
            for old in replaced:
                self._tasks.remove(old)
                old.fail(reason)
            if key is not None and self._running is not None and self._running.key == key:
                self._running.cancel.set(reason)
            self._tasks.append(_Task(future, fn, args, key, owner, cancel or Cancel()))
            self._cond.notify()
        return future

    def stop_tasks(self, keys: Collection[tuple], unstarted: str = 'stopped before it started') -> int:
        """Stop the tasks with one of ``keys``: a waiting one fails at once (409 with ``unstarted``), a running one
        ends at its next network batch (its ``Cancel`` says ``STOPPED``). How many there were."""
        with self._cond:
            waiting = [t for t in self._tasks if t.key in keys]
            for task in waiting:
                self._tasks.remove(task)
                task.cancel.set(STOPPED)
                task.fail(unstarted)
            running = self._running if self._running is not None and self._running.key in keys else None
            if running is not None:
                running.cancel.set(STOPPED)
        return len(waiting) + (running is not None)

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
        own = sum(1 for t in waiting if t.owner == owner)
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
        current = self.current
        left = current.seconds_left(current.clock()) if current is not None else None
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
        """Run the waiting tasks; raise ``JobStopped`` if ``job`` is to stop. Called by jobs between steps and after
        each network batch (``WorkHooks``), so a photo waits for one network batch of a job, not a group of files."""
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
            if self._running is not None:  # a photo's restore ends at its next network batch too
                self._running.cancel.set('the server is stopping')
            self._cond.notify()
        self._thread.join(timeout=30)

    def _run_tasks(self) -> None:
        while True:
            with self._cond:
                if not self._tasks:
                    return
                task = self._tasks.popleft()
                if not task.future.set_running_or_notify_cancel():
                    continue
                self._running = task
            try:
                task.future.set_result(task.fn(*task.args))
            except BaseException as exc:  # noqa: BLE001  (handed to the request that waits for it)
                if not isinstance(exc, CodeformerError | MemoryError):
                    traceback.print_exception(exc)
                task.future.set_exception(exc)
            finally:
                with self._cond:
                    self._running = None

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
            job.state, job.started = 'running', job.clock()
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
                job.finished = job.clock()
                with self._cond:
                    self.current = None

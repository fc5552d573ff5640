"""The routes every long job shares, whichever tab started it: the list of jobs (asked for, or followed as a stream
of Server-Sent Events), one job's status, and stopping it. The downloads of a finished job belong to its tab
(``batch_routes``, ``video_routes``), which check it with ``finished``."""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from codeformer.serve.http import TOKEN, Endpoints, client_of, job_of, owner_of
from codeformer.serve.store import Busy, RequestError
from codeformer.serve.worker import WorkerJob

if TYPE_CHECKING:
    from codeformer.serve.server import Server


EVENTS_PATH = '/api/events'
EVENT_TICK_S = 0.25  # how often a stream looks at the job list (in memory: cheap) and whether its client is gone
RUNNING_EVERY_S = 1.0  # a running job's list is sent again this often, for its time left, when nothing else moved
KEEP_ALIVE_S = 15.0  # a comment this often on a quiet stream, so that nothing between takes it for dead
RETRY_MS = 3000  # how soon the browser opens a dropped stream again
STREAMS_PER_CLIENT = 4  # a few tabs' worth (a reload opens the new one before the old is seen gone)
STREAMS = 32  # all clients together
STREAM_RETRY_S = 30  # Retry-After of a refused stream: the page polls slowly meanwhile
VOLATILE = ('seconds', 'seconds_left', 'faces_per_s')  # what changes with the clock alone, not with the work


def routes(server: Server) -> list[Route]:
    """The job routes, for the queue the page shows under every tab."""
    api = JobApi(server)
    return [
        Route('/api/jobs', api.jobs),
        Route(EVENTS_PATH, api.events),
        Route('/api/jobs/clear', api.clear_jobs, methods=['POST']),
        Route(f'/api/jobs/{TOKEN}', api.job_status),
        Route(f'/api/jobs/{TOKEN}/stop', api.stop_job, methods=['POST']),
    ]


def finished(job: WorkerJob, kind: str) -> WorkerJob:
    """``job`` if it is a ``kind`` job that has ended (done, failed or stopped): only those have results to fetch."""
    if job.kind != kind:
        raise RequestError(f'not a {kind} job', 404)
    if job.state in ('queued', 'running'):
        raise RequestError('the job has not finished yet', 409)
    return job


class StreamSlots:
    """How many event streams are open, for each client and in all: a page (or a script) that opens them without
    end cannot tie the server up. Beyond a limit, ``Busy``."""

    def __init__(self, per_client: int = STREAMS_PER_CLIENT, total: int = STREAMS):
        self.per_client, self.total = per_client, total
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, owner: str) -> Callable[[], None]:
        """A place for a stream of ``owner``; the function that gives it back (once)."""
        with self._lock:
            if sum(self._open.values()) >= self.total:
                raise Busy(f'busy: {self.total} event streams are open already (the most this server takes); the '
                           'page follows its jobs by asking now and then instead', STREAM_RETRY_S)
            if self._open.get(owner, 0) >= self.per_client:
                raise Busy(f'busy: {self.per_client} event streams of yours are open already (the most for one '
                           'client); close a tab of the page', STREAM_RETRY_S)
            self._open[owner] = self._open.get(owner, 0) + 1
        given = []

        def give_back() -> None:
            with self._lock:
                if not given:
                    given.append(True)
                    self._open[owner] -= 1
                    if not self._open[owner]:
                        del self._open[owner]
        return give_back


class JobStream(Response):
    """The job list of one client as Server-Sent Events: the list at once, then each time it changes (a running
    job's at least every ``RUNNING_EVERY_S``, for its time left), an ``others`` event with the count of other
    clients' jobs queued or running whenever it changes (a page with no job of its own does not say "queue: empty"
    while another's batch holds the network), a keep-alive comment when quiet, and a ``closing`` event when the
    server stops, which ends it: an open stream never holds the server's exit."""

    media_type = 'text/event-stream'

    def __init__(self, jobs: Callable[[], list[dict]], others: Callable[[], int], closing: Callable[[], bool],
                 give_back: Callable[[], None]):
        self.status_code, self.background = 200, None
        self.init_headers({'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no'})  # no body: no Content-Length
        self.jobs, self.others, self.closing, self.give_back = jobs, others, closing, give_back

    async def __call__(self, scope, receive, send) -> None:
        gone = asyncio.ensure_future(_client_gone(receive))
        try:
            await send({'type': 'http.response.start', 'status': 200, 'headers': self.raw_headers})
            await self._stream(send, gone)
            await send({'type': 'http.response.body', 'body': b'', 'more_body': False})
        except OSError:  # the client went away while a chunk was sent
            pass
        finally:
            gone.cancel()
            self.give_back()

    async def _stream(self, send, gone: asyncio.Future) -> None:
        async def chunk(text: str) -> None:
            await send({'type': 'http.response.body', 'body': text.encode(), 'more_body': True})

        await chunk(f'retry: {RETRY_MS}\n\n')
        last, last_others, sent, quiet = None, None, 0.0, time.monotonic()
        while not gone.done():
            if self.closing():
                await chunk('event: closing\ndata: the server has stopped\n\n')
                return
            jobs, now = self.jobs(), time.monotonic()
            steady = json.dumps([{k: v for k, v in j.items() if k not in VOLATILE} for j in jobs])
            running = any(j['state'] == 'running' for j in jobs)
            if steady != last or (running and now - sent >= RUNNING_EVERY_S):
                await chunk(f'data: {json.dumps(jobs)}\n\n')
                last, sent, quiet = steady, now, now
            others = self.others()
            if others != last_others:
                await chunk(f'event: others\ndata: {others}\n\n')
                last_others, quiet = others, now
            if now - quiet >= KEEP_ALIVE_S:
                await chunk(': keep-alive\n\n')
                quiet = now
            await asyncio.wait([gone], timeout=EVENT_TICK_S)


async def _client_gone(receive) -> None:
    """Returns when the client closes the connection (the request itself has no body to read)."""
    while (await receive())['type'] != 'http.disconnect':
        pass


class QuietEvents(logging.Filter):
    """Leaves the event stream out of the request log: one line per page opened says nothing (the page's own
    requests were three quarters of the log when it asked for its jobs every 0.7 s)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[2] if isinstance(args, tuple) and len(args) > 2 else None
        return not (isinstance(path, str) and path.split('?', 1)[0] == EVENTS_PATH)


class JobApi(Endpoints):
    """The job queue's endpoints."""

    def __init__(self, server: Server):
        super().__init__(server)
        self.slots = StreamSlots()

    def own_jobs(self, request: Request, client: str | None = None) -> list[WorkerJob]:
        """The jobs of the browser tab that asks (every job for a script that does not say which tab it is)."""
        client = client or client_of(request)
        return [j for j in list(self.server.worker.jobs.values()) if client is None or j.client == client]

    async def events(self, request: Request) -> Response:
        """The asking tab's job list, followed. An EventSource sends no headers of its own: the tab's id comes in
        the query (``?client=``); the token, as for every request, in the cookie (checked by the guard)."""
        client = client_of(request) or request.query_params.get('client', '').strip()[:64] or None
        give_back = self.slots.take(f'tab {client}' if client else owner_of(request))
        server = self.server
        return JobStream(lambda: [server.job_status(j) for j in self.own_jobs(request, client)],
                         lambda: self.others_jobs(client), lambda: server.closing, give_back)

    def others_jobs(self, client: str | None) -> int:
        """How many jobs of other clients are queued or running (0 for a script, which sees every job)."""
        return sum(1 for j in list(self.server.worker.jobs.values())
                   if client is not None and j.client != client and j.state in ('queued', 'running'))

    async def jobs(self, request: Request) -> Response:
        return JSONResponse([self.server.job_status(j) for j in self.own_jobs(request)])

    async def clear_jobs(self, request: Request) -> Response:
        """Forget the asking tab's finished jobs (their downloads go with them, freeing the private folder)."""
        jobs = self.own_jobs(request)
        return JSONResponse({'cleared': await run_in_threadpool(
            lambda: sum(self.server.worker.forget(j) for j in jobs))})

    async def job_status(self, request: Request) -> Response:
        return JSONResponse(self.server.job_status(job_of(self.server, request)))

    async def stop_job(self, request: Request) -> Response:
        job = job_of(self.server, request)
        self.server.worker.stop(job)
        return JSONResponse(self.server.job_status(job))

"""The routes every long job shares, whichever tab started it: the list of jobs, one job's status, and stopping it.
The downloads of a finished job belong to its tab (``batch_routes``, ``video_routes``), which check it with
``finished``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from codeformer.serve.http import TOKEN, Endpoints, client_of, job_of
from codeformer.serve.store import RequestError
from codeformer.serve.worker import WorkerJob

if TYPE_CHECKING:
    from codeformer.serve.server import Server


def routes(server: Server) -> list[Route]:
    """The job routes, for the queue the page shows under every tab."""
    api = JobApi(server)
    return [
        Route('/api/jobs', api.jobs),
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


class JobApi(Endpoints):
    """The job queue's endpoints."""

    def own_jobs(self, request: Request) -> list[WorkerJob]:
        """The jobs of the browser tab that asks (every job for a script that does not say which tab it is)."""
        client = client_of(request)
        return [j for j in list(self.server.worker.jobs.values()) if client is None or j.client == client]

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

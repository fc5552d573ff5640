"""The HTTP side: a Starlette app with the page and a JSON API. Requests store uploads (streamed to the private
folder, counted against the upload limit), hand every piece of network work to the worker and await it, and serve
results from memory or from files this server made. Errors are JSON ``{"error": "<one line>"}`` with a 4xx status.

This module puts the app together around a ``Server`` (``server``: the state of one running server); each tab of
the page has its own routes module (``photo_routes``, ``batch_routes``, ``video_routes``, and ``job_routes`` for
the job queue they share), and what they share is in ``http``."""
from __future__ import annotations

import contextlib
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from codeformer.serve import batch_routes, gallery_routes, job_routes, photo_routes, video_routes
from codeformer.serve.guard import HostPolicy, RequestGuard
from codeformer.serve.http import EXCEPTION_HANDLERS
from codeformer.serve.server import Server

STATIC = Path(__file__).parent / 'static'


def build_app(server: Server, hosts: HostPolicy | None = None, token: str | None = None) -> RequestGuard:
    """The app serving ``server``: the page and its files, then each tab's routes, in matching order, behind the
    checks of ``guard`` (``hosts``: the names it answers, default a loopback server's; ``token``: the one it asks
    for, if any)."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / 'index.html', headers={'Cache-Control': 'no-store'})

    async def info(request: Request) -> Response:
        return JSONResponse(server.info())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        try:
            yield
        finally:
            await run_in_threadpool(server.close)

    routes = [
        Route('/', index),
        Route('/api/info', info),
        *gallery_routes.routes(server),
        *photo_routes.routes(server),
        *batch_routes.routes(server),
        *job_routes.routes(server),
        *video_routes.routes(server),
        Mount('/static', StaticFiles(directory=STATIC), name='static'),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS)
    return RequestGuard(app, hosts or HostPolicy('127.0.0.1'), token)

"""The gallery's routes: the results kept in the output folder (newest first) and what they take against the disk's
free space, each result's file, small thumbnail and kept input (the viewer's "before"), and Delete, which moves a
result and its files into the folder's ``.trash``. Names from the page are only looked up in the listing
(``results.Results``), never used as paths."""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from codeformer.serve.http import Endpoints

if TYPE_CHECKING:
    from codeformer.serve.server import Server


def routes(server: Server) -> list[Route]:
    """The gallery's routes; a DELETE of a result's file moves it to the trash."""
    api = GalleryApi(server)
    return [
        Route('/api/gallery', api.listing),
        Route('/api/gallery/usage', api.usage),
        Route('/api/gallery/file', api.file),
        Route('/api/gallery/file', api.delete, methods=['DELETE']),
        Route('/api/gallery/thumb', api.thumb),
        Route('/api/gallery/source', api.source),
    ]


def _name(request: Request) -> str | None:
    return request.query_params.get('name')


class GalleryApi(Endpoints):
    """The gallery's endpoints, on the server's ``Results``."""

    async def listing(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self.server.results.gallery))

    async def usage(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self.server.results.usage))

    async def file(self, request: Request) -> Response:
        """The result itself; ``?download=1`` saves it under its own name."""
        path = await run_in_threadpool(self.server.results.file, _name(request))
        download = path.name if request.query_params.get('download') else None
        return FileResponse(path, filename=download, headers={'Cache-Control': 'no-store'})

    async def thumb(self, request: Request) -> Response:
        """Asked for as ``?name=...&v=<the result's time>``: a new version of a result has a new address."""
        path = await run_in_threadpool(self.server.results.thumb, _name(request))
        return FileResponse(path, media_type='image/webp', headers={'Cache-Control': 'no-cache'})

    async def source(self, request: Request) -> Response:
        path = await run_in_threadpool(self.server.results.source, _name(request))
        return FileResponse(path, headers={'Cache-Control': 'no-cache'})

    async def delete(self, request: Request) -> Response:
        name = _name(request)
        trash = await run_in_threadpool(self.server.results.delete, name)
        return JSONResponse({'name': name, 'trash': trash})

"""What every tab's routes share: uploads streamed to the private folder, JSON bodies, PNG and download responses,
and the exception handlers that turn every refusal into JSON ``{"error": "<one line>"}``, so each route module only
says what its tab does."""
from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from codeformer.errors import CodeformerError
from codeformer.serve.session import Settings
from codeformer.serve.store import Busy, RequestError, Storage, free_name, is_token, safe_name
from codeformer.utils.image_io import check_pixels, encode_image, image_size, read_file

if TYPE_CHECKING:
    from codeformer.serve.server import Server
    from codeformer.serve.worker import WorkerJob

TOKEN = '{id:str}'  # the path parameter of every photo, batch, video and job URL
DRAIN_BYTES = 64 * 2**20  # a refused upload's body read (and dropped) up to this, so its client reads the answer


@dataclass
class Endpoints:
    """A tab's endpoints: one method per route, each an ordinary Starlette endpoint, all on the one ``server``."""
    server: Server


CLIENT_HEADER = 'X-Codeformer-Client'  # a browser's own id (its localStorage, shared by its tabs): its job list
TAB_HEADER = 'X-Codeformer-Tab'  # one tab's own id (its sessionStorage): the photos it holds open


def client_of(request: Request) -> str | None:
    """The browser that sent the request (its tabs share one job list), None for a script that does not say."""
    return _id_in(request, CLIENT_HEADER)


def owner_of(request: Request) -> str:
    """Whose limits a request counts against: its browser tab, else its browser, else its remote address."""
    tab = _id_in(request, TAB_HEADER) or client_of(request)
    if tab is not None:
        return f'tab {tab}'
    return f'address {request.client.host if request.client else "unknown"}'


def _id_in(request: Request, header: str) -> str | None:
    value = request.headers.get(header, '').strip()
    return value[:64] or None


def job_of(server: Server, request: Request) -> WorkerJob:
    """The job named by the request's ``id``, else a 404."""
    return lookup(server.worker.jobs, request, 'job')


def lookup(table: dict, request: Request, what: str):
    """``table``'s entry for the request's ``id`` (a token, never used as a path), else a 404."""
    token = request.path_params['id']
    found = table.get(token) if is_token(token) else None
    if found is None:
        raise RequestError(f'no such {what}', 404)
    return found


async def receive(request: Request, folder: Path, limit: int, storage: Storage | None = None) -> Path:
    """The request's body saved in ``folder`` under the cleaned ``name`` query parameter, at most ``limit`` bytes,
    each byte counted against ``storage``'s cap (``Busy`` beyond it). Nothing stays of an upload that is refused or
    whose client goes away part way."""
    name = safe_name(request.query_params.get('name'))
    declared = request.headers.get('content-length')
    declared = int(declared) if declared and declared.isdigit() else None
    if declared is not None and declared > limit:
        raise RequestError(f'{name}: {declared / 1e6:.1f} MB is over the upload limit of {limit / 1e6:.0f} MB', 413)
    if storage is not None:
        await run_in_threadpool(storage.refresh)
        room = storage.room()
        if declared is not None and room is not None and declared > room:
            await drain(request)
            raise storage.full(declared)
    folder.mkdir(parents=True, exist_ok=True)
    target = free_name(folder, name)
    size = 0
    try:
        with storage.meter() if storage is not None else contextlib.nullcontext() as meter:
            with open(target, 'wb') as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise RequestError(f'{name}: over the upload limit of {limit / 1e6:.0f} MB', 413)
                    if meter is not None:
                        meter.add(target, len(chunk))
                    f.write(chunk)
            if size == 0:
                raise RequestError(f'{name}: empty file')
    except Busy:
        target.unlink(missing_ok=True)
        await drain(request)
        raise
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


async def drain(request: Request, most: int = DRAIN_BYTES) -> None:
    """Read what is left of a refused upload (up to ``most`` bytes, kept nowhere): a client still sending would
    otherwise find the connection closed under it, and never read why."""
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > most:
                return
    except (ClientDisconnect, RuntimeError):  # gone, or the body was read already
        return


@contextlib.contextmanager
def removed_on_error(folder: Path):
    """Remove ``folder`` (an upload's own) when the upload is refused."""
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


@contextlib.asynccontextmanager
async def upload(server: Server, request: Request, kind: str) -> AsyncIterator[tuple[str, Path]]:
    """The token and saved path of an upload in a new ``kind`` folder, which goes again if the upload (or the
    checks in the ``async with`` block) is refused."""
    token, folder = server.storage.new_folder(kind)
    with removed_on_error(folder):
        yield token, await receive(request, folder, server.max_upload, server.storage)


def measure(path: Path, name: str, max_pixels: int | None) -> None:
    """Refuse an image over the pixel limit from its header, before anything decodes it."""
    width, height = image_size(read_file(path), name)
    check_pixels(name, width, height, max_pixels)


async def read_json(request: Request) -> dict:
    """The request's body as a JSON object, else a 400 that says so."""
    try:
        data = await request.json()
    except ValueError:
        raise RequestError('the request body is not JSON') from None
    if not isinstance(data, dict):
        raise RequestError('the request body is not a JSON object')
    return data


async def read_settings(server: Server, request: Request) -> tuple[dict, Settings]:
    """The JSON body and its checked ``settings`` (the server's defaults for what it leaves out)."""
    data = await read_json(request)
    return data, Settings.from_request(data.get('settings') or {}, server.defaults)


def encode_png(image) -> bytes:
    """``image`` as PNG bytes; run it in the thread pool, it takes a while for big images."""
    try:
        return encode_image(image)
    except OSError:
        raise RequestError('cannot encode the image as PNG') from None


def png_response(data: bytes, download: str | None = None) -> Response:
    """A PNG never cached (results change under the same URL), saved as ``download`` when given."""
    headers = {'Cache-Control': 'no-store'}
    if download:
        headers['Content-Disposition'] = attachment(download)
    return Response(data, media_type='image/png', headers=headers)


def attachment(name: str) -> str:
    """A Content-Disposition header value that downloads as ``name`` (any characters)."""
    plain = name.encode('ascii', 'replace').decode().replace('?', '_').replace('"', '_').replace('\\', '_')
    return f'attachment; filename="{plain}"; filename*=UTF-8\'\'{quote(name)}'


async def _request_error(request: Request, exc: RequestError) -> Response:
    headers = {'Retry-After': str(exc.retry_after)} if isinstance(exc, Busy) else None
    return JSONResponse({'error': str(exc)}, status_code=exc.status, headers=headers)


async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
    """The client closed the connection part way through its request: no one reads the answer (the upload's file
    is removed already), and it is no error of the server's."""
    return Response(status_code=400)


async def _codeformer_error(request: Request, exc: CodeformerError) -> Response:
    return JSONResponse({'error': str(exc).splitlines()[0]}, status_code=400)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({'error': exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _out_of_memory(request: Request, exc: MemoryError) -> Response:
    return JSONResponse({'error': 'not enough memory for that'}, status_code=507)


# Every error the page sees is JSON with one line: refusals keep their status, library errors are 400s.
EXCEPTION_HANDLERS = {RequestError: _request_error, CodeformerError: _codeformer_error, HTTPException: _http_error,
                      MemoryError: _out_of_memory, ClientDisconnect: _client_gone}

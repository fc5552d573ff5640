"""The batch tab's routes: open a batch, add files (images, or zips unpacked on arrival), start it as a job, and
download the finished job's results zip and report. A batch is only a folder of uploads until it starts."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from codeformer.errors import CodeformerError
from codeformer.serve.batch import Batch, BatchJob
from codeformer.serve.http import (
    TOKEN,
    Endpoints,
    client_of,
    job_of,
    lookup,
    measure,
    owner_of,
    read_settings,
    receive,
)
from codeformer.serve.job_routes import finished
from codeformer.serve.store import RequestError, extract_zip, free_name
from codeformer.utils.image_io import ImageTooLarge, content_kind, file_kind

if TYPE_CHECKING:
    from codeformer.serve.server import Server

ZIP_MAGIC = b'PK\x03\x04'


def refusal(path: Path, max_pixels: int | None) -> str | None:
    """Why an upload cannot be in a batch (not an image by its bytes, a video, over the pixel limit), else None:
    said at once, not when the batch runs. A file that starts as an image but whose header cannot be read stays,
    and fails in the run with the batch tool's own message."""
    kind = file_kind(path)
    if kind == 'video':
        return f'{path.name}: a video: restore it in the Video tab'
    if kind != 'image' or content_kind(path) is None:  # by its name only (a text file called .jpg): no image
        return f'{path.name}: not an image (a batch takes photos, or zips of them)'
    try:
        measure(path, path.name, max_pixels)
    except ImageTooLarge as exc:
        return str(exc).splitlines()[0]
    except CodeformerError:
        return None
    return None


def routes(server: Server) -> list[Route]:
    """The tab's routes: the batch itself, then its job's downloads."""
    api = BatchApi(server)
    return [
        Route('/api/batches', api.new_batch, methods=['POST']),
        Route(f'/api/batches/{TOKEN}/files', api.add_to_batch, methods=['POST']),
        Route(f'/api/batches/{TOKEN}/start', api.start_batch, methods=['POST']),
        Route(f'/api/jobs/{TOKEN}/results.zip', api.results_zip),
        Route(f'/api/jobs/{TOKEN}/report.json', api.report),
    ]


class BatchApi(Endpoints):
    """The batch endpoints; a batch is in ``server.batches`` until it starts, then it is a job."""

    def batch_of(self, request: Request) -> Batch:
        return lookup(self.server.batches, request, 'batch (or it has started)')

    async def new_batch(self, request: Request) -> Response:
        token, folder = self.server.storage.new_folder('batches')
        self.server.batches[token] = Batch(token, folder)
        return JSONResponse({'id': token})

    async def add_to_batch(self, request: Request) -> Response:
        batch = self.batch_of(request)
        storage = self.server.storage
        path = await receive(request, batch.folder / 'uploads', self.server.max_upload, storage)
        batch.inputs.mkdir(exist_ok=True)
        with open(path, 'rb') as f:
            is_zip = f.read(4) == ZIP_MAGIC
        if is_zip:
            try:
                with storage.meter() as meter:  # what it unpacks to counts too
                    added = await run_in_threadpool(extract_zip, path, batch.inputs, self.server.max_upload, meter)
            finally:
                path.unlink()
        else:
            reason = await run_in_threadpool(refusal, path, self.server.max_pixels)
            if reason:
                path.unlink()
                raise RequestError(reason)
            target = free_name(batch.inputs, path.name)
            path.rename(target)
            added = [target]
        refused = []
        for p in list(added):  # a zip's files that are not images (or too big) are refused now, as the photo tab does
            reason = await run_in_threadpool(refusal, p, self.server.max_pixels) if is_zip else None
            if reason:
                p.unlink()
                added.remove(p)
                refused.append(reason)
        batch.files.extend(added)
        return JSONResponse({'id': batch.id, 'added': [p.name for p in added], 'refused': refused,
                             'files': len(batch.files)})

    async def start_batch(self, request: Request) -> Response:
        server = self.server
        _, settings = await read_settings(server, request)
        batch = self.batch_of(request)  # after the body is read: a start sent twice at once starts it once
        if not batch.files:
            raise RequestError('the batch has no files')
        job = BatchJob(batch.id, batch, settings, server.models, server.batch_size, server.max_pixels,
                       server.results)
        status = server.start(job, client_of(request), owner_of(request))  # Busy: the batch stays, to start later
        server.batches.pop(batch.id, None)
        return JSONResponse(status)

    async def results_zip(self, request: Request) -> Response:
        job = finished(job_of(self.server, request), 'batch')
        name = f'codeformer_results_{job.total}_file{"" if job.total == 1 else "s"}.zip'
        return StreamingResponse(job.zip(), media_type='application/zip', headers={
            'Content-Disposition': f'attachment; filename="{name}"'})

    async def report(self, request: Request) -> Response:
        job = finished(job_of(self.server, request), 'batch')
        if not job.report_path.is_file():
            raise RequestError('no report', 404)
        return FileResponse(job.report_path, media_type='application/json', headers={
            'Content-Disposition': f'attachment; filename="report_{job.id}.json"'})

"""The batch tab's routes: open a batch, add files (images, or zips unpacked on arrival), start it as a job, and
download the finished job's results zip and report. A batch is only a folder of uploads until it starts."""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from codeformer.serve.batch import Batch, BatchJob
from codeformer.serve.http import TOKEN, Endpoints, job_of, lookup, read_settings, receive
from codeformer.serve.job_routes import finished
from codeformer.serve.store import RequestError, extract_zip, free_name

if TYPE_CHECKING:
    from codeformer.serve.server import Server

ZIP_MAGIC = b'PK\x03\x04'


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
        path = await receive(request, batch.folder / 'uploads', self.server.max_upload)
        batch.inputs.mkdir(exist_ok=True)
        with open(path, 'rb') as f:
            is_zip = f.read(4) == ZIP_MAGIC
        if is_zip:
            added = await run_in_threadpool(extract_zip, path, batch.inputs, self.server.max_upload)
            path.unlink()
        else:
            target = free_name(batch.inputs, path.name)
            path.rename(target)
            added = [target]
        batch.files.extend(added)
        return JSONResponse({'id': batch.id, 'added': [p.name for p in added], 'files': len(batch.files)})

    async def start_batch(self, request: Request) -> Response:
        server = self.server
        batch = self.batch_of(request)
        _, settings = await read_settings(server, request)
        if not batch.files:
            raise RequestError('the batch has no files')
        del server.batches[batch.id]
        return JSONResponse(server.start(
            BatchJob(batch.id, batch, settings, server.models, server.batch_size, server.max_pixels)))

    async def results_zip(self, request: Request) -> Response:
        job = finished(job_of(self.server, request), 'batch')
        return StreamingResponse(job.zip(), media_type='application/zip', headers={
            'Content-Disposition': f'attachment; filename="codeformer_{job.id}.zip"'})

    async def report(self, request: Request) -> Response:
        job = finished(job_of(self.server, request), 'batch')
        if not job.report_path.is_file():
            raise RequestError('no report', 404)
        return FileResponse(job.report_path, media_type='application/json', headers={
            'Content-Disposition': f'attachment; filename="report_{job.id}.json"'})

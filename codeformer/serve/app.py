"""The HTTP side: a Starlette app with the page and a JSON API. Requests store uploads (streamed to the private
folder, counted against the upload limit), hand every piece of network work to the worker and await it, and serve
results from memory or from files this server made. Errors are JSON ``{"error": "<one line>"}`` with a 4xx status."""
from __future__ import annotations

import asyncio
import contextlib
import shutil
from dataclasses import asdict
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from codeformer import __version__
from codeformer.errors import CodeformerError
from codeformer.serve import photos, videos
from codeformer.serve.batch import Batch, BatchJob
from codeformer.serve.models import Models, Settings
from codeformer.serve.photos import Photo, PhotoStore
from codeformer.serve.store import RequestError, Storage, extract_zip, free_name, is_token, safe_name
from codeformer.serve.worker import Job, Worker
from codeformer.utils.image_io import check_pixels, image_size, read_file

STATIC = Path(__file__).parent / 'static'
ZIP_MAGIC = b'PK\x03\x04'


class Server:
    """The state of one server: networks, worker, private folder, uploads and jobs."""

    def __init__(self, models: Models, defaults: Settings, max_pixels: int | None, max_upload: int,
                 batch_size: int = 1):
        self.models, self.defaults = models, defaults
        self.max_pixels, self.max_upload, self.batch_size = max_pixels, max_upload, batch_size
        self.storage = Storage()
        self.worker = Worker()
        self.photos = PhotoStore()
        self.batches: dict[str, Batch] = {}
        self.videos: dict[str, videos.Video] = {}

    async def on_worker(self, fn, *args):
        return await asyncio.wrap_future(self.worker.call(fn, *args))

    def close(self) -> None:
        self.worker.close()
        self.storage.close()

    def info(self) -> dict:
        from codeformer.detection import DETECTORS
        return {'version': __version__, 'defaults': asdict(self.defaults), 'detectors': list(DETECTORS),
                'model': self.models.model_name or 'released', 'max_pixels': self.max_pixels,
                'max_upload_bytes': self.max_upload}

    def job(self, request: Request) -> Job:
        return lookup(self.worker.jobs, request, 'job')

    def job_status(self, job: Job) -> dict:
        return job.status(self.worker.queue_position(job))


def lookup(table: dict, request: Request, what: str):
    """``table``'s entry for the request's ``id`` (a token, never used as a path), else a 404."""
    token = request.path_params['id']
    found = table.get(token) if is_token(token) else None
    if found is None:
        raise RequestError(f'no such {what}', 404)
    return found


async def receive(request: Request, folder: Path, limit: int) -> Path:
    """The request's body saved in ``folder`` under the cleaned ``name`` query parameter, at most ``limit`` bytes."""
    name = safe_name(request.query_params.get('name'))
    declared = request.headers.get('content-length')
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(f'{name}: {int(declared) / 1e6:.1f} MB is over the upload limit of {limit / 1e6:.0f} MB',
                           413)
    folder.mkdir(parents=True, exist_ok=True)
    target = free_name(folder, name)
    size = 0
    try:
        with open(target, 'wb') as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestError(f'{name}: over the upload limit of {limit / 1e6:.0f} MB', 413)
                f.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if size == 0:
        target.unlink(missing_ok=True)
        raise RequestError(f'{name}: empty file')
    return target


def _measure(path: Path, name: str, max_pixels: int | None) -> None:
    """Refuse an image over the pixel limit from its header, before anything decodes it."""
    width, height = image_size(read_file(path), name)
    check_pixels(name, width, height, max_pixels)


@contextlib.contextmanager
def removed_on_error(folder: Path):
    """Remove ``folder`` (an upload's own) when the upload is refused."""
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def png_response(data: bytes, download: str | None = None) -> Response:
    headers = {'Cache-Control': 'no-store'}
    if download:
        headers['Content-Disposition'] = attachment(download)
    return Response(data, media_type='image/png', headers=headers)


def _face_index(request: Request) -> int:
    return int(request.path_params['k'])


def _settings(server: Server, data: dict) -> Settings:
    return Settings.from_request(data.get('settings') or {}, server.defaults)


async def _json(request: Request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise RequestError('the request body is not JSON') from None
    if not isinstance(data, dict):
        raise RequestError('the request body is not a JSON object')
    return data


def build_app(server: Server) -> Starlette:
    """The Starlette app serving ``server``."""

    async def index(request):
        return FileResponse(STATIC / 'index.html', headers={'Cache-Control': 'no-store'})

    async def info(request):
        return JSONResponse(server.info())

    # -- one photo ------------------------------------------------------------------------------------------------
    def photo_of(request) -> Photo:
        token = request.path_params['id']
        if not is_token(token):
            raise RequestError('no such photo', 404)
        return server.photos.get(token)

    async def upload_photo(request):
        token, folder = server.storage.new_folder('photos')
        with removed_on_error(folder):
            path = await receive(request, folder, server.max_upload)
            photo = Photo(token, path.name, path)
            await run_in_threadpool(_measure, path, photo.name, server.max_pixels)
            size = await server.on_worker(photos.load, photo, server.max_pixels)
        server.photos.add(photo)
        detector = request.query_params.get('detector') or server.defaults.detector
        Settings.from_request({'detector': detector}, server.defaults)  # checked
        faces = await server.on_worker(photos.detect, server.models, photo, detector)
        return JSONResponse({'id': token, 'name': photo.name, **size, 'faces': faces})

    async def detect_photo(request):
        photo = photo_of(request)
        detector = Settings.from_request({'detector': request.query_params.get('detector')}, server.defaults).detector
        faces = await server.on_worker(photos.detect, server.models, photo, detector)
        return JSONResponse({'id': photo.id, 'faces': faces})

    async def original(request):
        return png_response(photo_of(request).original_png)

    async def thumb(request):
        photo = photo_of(request)
        return png_response(await run_in_threadpool(lambda: _encode(photos.thumbnail(photo, _face_index(request)))))

    async def restore_photo(request):
        photo = photo_of(request)
        data = await _json(request)
        settings = _settings(server, data)
        try:
            chosen = [int(i) for i in data.get('faces', [])]
            face_w = {int(k): float(v) for k, v in (data.get('face_w') or {}).items()}
        except (TypeError, ValueError, AttributeError):
            raise RequestError('faces must be a list of face indices and face_w a map of index to w') from None
        result = await server.on_worker(photos.render, server.models, photo, settings, chosen, face_w,
                                        server.max_pixels)
        return JSONResponse(result)

    def latest(request, photo: Photo):
        wanted = request.query_params.get('v')
        if photo.latest is None or (wanted and wanted != str(photo.latest.version)):
            raise RequestError('that result has been replaced by a newer one', 404)
        return photo.latest

    async def result(request):
        photo = photo_of(request)
        rendered = latest(request, photo)
        download = f'{photo.stem}_restored.png' if request.query_params.get('download') else None
        return png_response(rendered.png, download)

    async def face_image(request):
        photo = photo_of(request)
        rendered = latest(request, photo)
        k, which = _face_index(request), request.path_params['which']
        if k not in rendered.faces or which not in ('crop', 'restored'):
            raise RequestError(f'face {k + 1} was not restored', 404)
        crop, face = rendered.faces[k]
        return png_response(await run_in_threadpool(_encode, crop if which == 'crop' else face))

    # -- batches --------------------------------------------------------------------------------------------------
    def batch_of(request) -> Batch:
        return lookup(server.batches, request, 'batch (or it has started)')

    async def new_batch(request):
        token, folder = server.storage.new_folder('batches')
        server.batches[token] = Batch(token, folder)
        return JSONResponse({'id': token})

    async def add_to_batch(request):
        batch = batch_of(request)
        path = await receive(request, batch.folder / 'uploads', server.max_upload)
        batch.inputs.mkdir(exist_ok=True)
        with open(path, 'rb') as f:
            is_zip = f.read(4) == ZIP_MAGIC
        if is_zip:
            added = await run_in_threadpool(extract_zip, path, batch.inputs, server.max_upload)
            path.unlink()
        else:
            target = free_name(batch.inputs, path.name)
            path.rename(target)
            added = [target]
        batch.files.extend(added)
        return JSONResponse({'id': batch.id, 'added': [p.name for p in added], 'files': len(batch.files)})

    async def start_batch(request):
        batch = batch_of(request)
        data = await _json(request)
        settings = _settings(server, data)
        if not batch.files:
            raise RequestError('the batch has no files')
        del server.batches[batch.id]
        job = BatchJob(batch.id, batch, settings, server.models, server.batch_size, server.max_pixels)
        server.worker.submit(job)
        return JSONResponse(server.job_status(job))

    # -- jobs -----------------------------------------------------------------------------------------------------
    async def jobs(request):
        return JSONResponse([server.job_status(j) for j in server.worker.jobs.values()])

    async def job_status(request):
        return JSONResponse(server.job_status(server.job(request)))

    async def stop_job(request):
        job = server.job(request)
        server.worker.stop(job)
        return JSONResponse(server.job_status(job))

    def finished(job: Job, kind: str) -> Job:
        if job.kind != kind:
            raise RequestError(f'not a {kind} job', 404)
        if job.state in ('queued', 'running'):
            raise RequestError('the job has not finished yet', 409)
        return job

    async def results_zip(request):
        job = finished(server.job(request), 'batch')
        return StreamingResponse(job.zip(), media_type='application/zip', headers={
            'Content-Disposition': f'attachment; filename="codeformer_{job.id}.zip"'})

    async def report(request):
        job = finished(server.job(request), 'batch')
        if not job.report_path.is_file():
            raise RequestError('no report', 404)
        return FileResponse(job.report_path, media_type='application/json', headers={
            'Content-Disposition': f'attachment; filename="report_{job.id}.json"'})

    async def video_result(request):
        job = finished(server.job(request), 'video')
        if job.result is None or not job.result.is_file():
            raise RequestError('no video was written', 404)
        name = f'{job.video.stem}{".partial" if job.partial else ""}.mp4'
        return FileResponse(job.result, media_type='video/mp4', headers={'Content-Disposition': attachment(name)})

    # -- videos ---------------------------------------------------------------------------------------------------
    def video_of(request) -> videos.Video:
        return lookup(server.videos, request, 'video')

    async def upload_video(request):
        token, folder = server.storage.new_folder('videos')
        with removed_on_error(folder):
            path = await receive(request, folder, server.max_upload)
            video = videos.Video(token, path.name, path, folder)
            data = await run_in_threadpool(videos.probe, video, server.max_pixels)
        server.videos[token] = video
        return JSONResponse(data)

    def frame_index(video: videos.Video, value) -> int:
        try:
            index = int(value)
        except (TypeError, ValueError):
            raise RequestError(f'bad frame number {value!r}') from None
        return min(max(0, index), video.frames - 1)

    async def frame(request):
        video = video_of(request)
        index = frame_index(video, request.query_params.get('index', 0))
        image = await run_in_threadpool(videos.frame_at, video, index)
        return png_response(await run_in_threadpool(_encode, image))

    async def preview(request):
        video = video_of(request)
        data = await _json(request)
        settings = _settings(server, data)
        index = frame_index(video, data.get('index', 0))
        out = await server.on_worker(videos.preview, server.models, video, index, settings, server.max_pixels)
        return JSONResponse(out)

    async def preview_image(request):
        video = video_of(request)
        which = request.path_params['which']
        if which not in video.preview:
            raise RequestError('no preview yet', 404)
        return png_response(video.preview[which])

    async def start_video(request):
        video = video_of(request)
        data = await _json(request)
        settings = _settings(server, data)
        token, _ = server.storage.new_folder('jobs')
        job = videos.VideoJob(token, video, settings, server.models, server.batch_size, server.max_pixels)
        server.worker.submit(job)
        return JSONResponse(server.job_status(job))

    async def request_error(request, exc: RequestError):
        return JSONResponse({'error': str(exc)}, status_code=exc.status)

    async def codeformer_error(request, exc: CodeformerError):
        return JSONResponse({'error': str(exc).splitlines()[0]}, status_code=400)

    async def http_error(request, exc: HTTPException):
        return JSONResponse({'error': exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def out_of_memory(request, exc: MemoryError):
        return JSONResponse({'error': 'not enough memory for that'}, status_code=507)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            await run_in_threadpool(server.close)

    tok = '{id:str}'
    routes = [
        Route('/', index),
        Route('/api/info', info),
        Route('/api/photos', upload_photo, methods=['POST']),
        Route(f'/api/photos/{tok}/detect', detect_photo, methods=['POST']),
        Route(f'/api/photos/{tok}/original.png', original),
        Route(f'/api/photos/{tok}/faces/{{k:int}}/thumb.png', thumb),
        Route(f'/api/photos/{tok}/restore', restore_photo, methods=['POST']),
        Route(f'/api/photos/{tok}/result.png', result),
        Route(f'/api/photos/{tok}/faces/{{k:int}}/{{which:str}}.png', face_image),
        Route('/api/batches', new_batch, methods=['POST']),
        Route(f'/api/batches/{tok}/files', add_to_batch, methods=['POST']),
        Route(f'/api/batches/{tok}/start', start_batch, methods=['POST']),
        Route('/api/jobs', jobs),
        Route(f'/api/jobs/{tok}', job_status),
        Route(f'/api/jobs/{tok}/stop', stop_job, methods=['POST']),
        Route(f'/api/jobs/{tok}/results.zip', results_zip),
        Route(f'/api/jobs/{tok}/report.json', report),
        Route(f'/api/jobs/{tok}/video.mp4', video_result),
        Route('/api/videos', upload_video, methods=['POST']),
        Route(f'/api/videos/{tok}/frame.png', frame),
        Route(f'/api/videos/{tok}/preview', preview, methods=['POST']),
        Route(f'/api/videos/{tok}/preview/{{which:str}}.png', preview_image),
        Route(f'/api/videos/{tok}/start', start_video, methods=['POST']),
        Mount('/static', StaticFiles(directory=STATIC), name='static'),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        RequestError: request_error, CodeformerError: codeformer_error, HTTPException: http_error,
        MemoryError: out_of_memory})


def _encode(image) -> bytes:
    import cv2
    ok, png = cv2.imencode('.png', image)
    if not ok:
        raise RequestError('cannot encode the image as PNG')
    return png.tobytes()


def attachment(name: str) -> str:
    """A Content-Disposition header value that downloads as ``name`` (any characters)."""
    plain = name.encode('ascii', 'replace').decode().replace('?', '_').replace('"', '_').replace('\\', '_')
    return f'attachment; filename="{plain}"; filename*=UTF-8\'\'{quote(name)}'

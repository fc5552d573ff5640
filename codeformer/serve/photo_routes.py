"""The one-photo tab's routes: upload a photo, find its faces, restore some of them, and fetch the original, the
result and each face's crop and restored image. Photos live in memory (``PhotoStore``); the network work runs on
the worker."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from codeformer.batch.exits import say
from codeformer.errors import CodeformerError
from codeformer.serve import photos
from codeformer.serve.http import (
    TOKEN,
    Endpoints,
    encode_png,
    measure,
    owner_of,
    png_response,
    read_settings,
    upload,
)
from codeformer.serve.photos import Photo, Rendered, Restoring
from codeformer.serve.session import Settings
from codeformer.serve.store import RequestError, is_token
from codeformer.utils.image_io import file_kind

if TYPE_CHECKING:
    from codeformer.serve.server import Server


def routes(server: Server) -> list[Route]:
    """The tab's routes; ``thumb.png`` comes before the ``{which}.png`` pattern that would also match it."""
    api = PhotoApi(server)
    face = f'/api/photos/{TOKEN}/faces/{{k:int}}'
    return [
        Route('/api/photos', api.upload_photo, methods=['POST']),
        Route(f'/api/photos/{TOKEN}/detect', api.detect_photo, methods=['POST']),
        Route(f'/api/photos/{TOKEN}/original.png', api.original),
        Route(f'{face}/thumb.png', api.thumb),
        Route(f'/api/photos/{TOKEN}/restore', api.restore_photo, methods=['POST']),
        Route(f'/api/photos/{TOKEN}/progress', api.progress),
        Route(f'/api/photos/{TOKEN}/stop', api.stop_restore, methods=['POST']),
        Route(f'/api/photos/{TOKEN}/result.png', api.result),
        Route(f'{face}/{{which:str}}.png', api.face_image),
    ]


def _face_index(request: Request) -> int:
    return int(request.path_params['k'])


class PhotoApi(Endpoints):
    """The one-photo endpoints; photos are looked up in the server's ``PhotoStore``, which forgets a tab's older
    photos and idle ones."""

    def photo_of(self, request: Request) -> Photo:
        token = request.path_params['id']
        if not is_token(token):
            raise RequestError('no such photo', 404)
        return self.server.photos.get(token)

    def detector(self, name: str | None) -> str:
        """``name`` checked as a detector (``None`` is the server's default)."""
        return Settings.from_request({'detector': name}, self.server.defaults).detector

    async def upload_photo(self, request: Request) -> Response:
        server = self.server
        owner = owner_of(request)
        server.worker.check_tasks(owner)  # busy: said before the upload is read
        server.photos.check_room(owner)
        async with upload(server, request, 'photos') as (token, path):
            photo = Photo(token, path.name, path, owner=owner)
            if await run_in_threadpool(file_kind, path) == 'video':
                raise RequestError(f'{photo.name}: a video: restore it in the Video tab')
            await run_in_threadpool(measure, path, photo.name, server.max_pixels)
            size = await server.on_worker(photos.load, photo, server.max_pixels, owner=owner)
            server.photos.add(photo)
        detector = self.detector(request.query_params.get('detector') or server.defaults.detector)
        # the rest of a request let in: not refused half way (the photo is stored already)
        faces = await server.on_worker(photos.detect, server.models, photo, detector)
        return JSONResponse({'id': token, 'name': photo.name, **size, 'faces': faces, 'note': photos.note(photo)})

    async def detect_photo(self, request: Request) -> Response:
        photo = self.photo_of(request)
        detector = self.detector(request.query_params.get('detector'))
        faces = await self.server.on_worker(photos.detect, self.server.models, photo, detector,
                                            owner=owner_of(request))
        return JSONResponse({'id': photo.id, 'faces': faces, 'note': photos.note(photo)})

    async def original(self, request: Request) -> Response:
        return png_response(self.photo_of(request).original_png)

    async def thumb(self, request: Request) -> Response:
        photo = self.photo_of(request)
        return png_response(await run_in_threadpool(lambda: encode_png(photos.thumbnail(photo, _face_index(request)))))

    async def restore_photo(self, request: Request) -> Response:
        photo = self.photo_of(request)
        data, settings = await read_settings(self.server, request)
        try:
            chosen = [int(i) for i in data.get('faces', [])]
            face_w = {int(k): float(v) for k, v in (data.get('face_w') or {}).items()}
        except (TypeError, ValueError, AttributeError):
            raise RequestError('faces must be a list of face indices and face_w a map of index to w') from None
        side = bool(data.get('side'))
        restoring = Restoring(photo.name)
        # a newer request for the same photo (and side) replaces this one, waiting or under way
        future = self.server.worker.call(photos.render, self.server.models, photo, settings, chosen, face_w,
                                         self.server.max_pixels, side, restoring, key=('photo', photo.id, side),
                                         owner=owner_of(request), cancel=restoring.cancel)
        if not side:
            photo.restoring = restoring
        result = await asyncio.wrap_future(future)
        return JSONResponse(result, background=None if side else BackgroundTask(self.keep, photo, photo.latest))

    async def progress(self, request: Request) -> Response:
        """The newest restore of the photo as the page shows it while it waits: faces done of how many, seconds so
        far and left; ``idle`` before any."""
        restoring = self.photo_of(request).restoring
        return JSONResponse(restoring.status() if restoring is not None else {'state': 'idle'})

    async def stop_restore(self, request: Request) -> Response:
        """End the photo's restores (and the one beside it) at their next network batch; each request answers 409
        with what was done, and the last finished result stays. The progress as it was when Stop came."""
        photo = self.photo_of(request)
        keys = [('photo', photo.id, False), ('photo', photo.id, True)]
        self.server.worker.stop_tasks(keys, f'{photo.name}: stopped before it started; the last finished result '
                                            'stays')
        return JSONResponse(photo.restoring.status() if photo.restoring is not None else {'state': 'idle'})

    def keep(self, photo: Photo, rendered: Rendered) -> None:
        """Write the result to the output folder once the page has its answer; the newest version wins."""
        if photo.latest is rendered:
            try:
                # the upload and the settings say which entry of the gallery it is: a re-upload replaces it
                photo.saved = self.server.results.save_photo(photo.saved, photo.name, rendered.png, rendered.faces,
                                                             photo.path, photo.original_png, rendered.parameters)
            except CodeformerError as exc:  # a full or read-only output folder: the page has its result anyway
                say('warning', exc)

    def latest(self, request: Request, photo: Photo) -> Rendered:
        """The photo's latest result (``?side=1``: at the second ``w``), unless the page asks (``?v=``) for one that a
        newer one replaced."""
        wanted = request.query_params.get('v')
        rendered = photo.side if request.query_params.get('side') else photo.latest
        if rendered is None or (wanted and wanted != str(rendered.version)):
            raise RequestError('that result has been replaced by a newer one', 404)
        return rendered

    async def result(self, request: Request) -> Response:
        photo = self.photo_of(request)
        rendered = self.latest(request, photo)
        download = f'{photo.stem}_restored.png' if request.query_params.get('download') else None
        return png_response(rendered.png, download)

    async def face_image(self, request: Request) -> Response:
        photo = self.photo_of(request)
        rendered = self.latest(request, photo)
        k, which = _face_index(request), request.path_params['which']
        if k not in rendered.faces or which not in ('crop', 'restored'):
            raise RequestError(f'face {k + 1} was not restored', 404)
        crop, face = rendered.faces[k]
        return png_response(await run_in_threadpool(encode_png, crop if which == 'crop' else face))

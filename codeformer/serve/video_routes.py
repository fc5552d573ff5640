"""The video tab's routes: upload a video, play it back, look at a frame, preview the restoration of one frame, start
the whole video as a job, and download (or play) the finished job's video. Both videos are served with range
requests (Starlette's ``FileResponse``), which a ``<video>`` element needs to seek."""
from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from codeformer.serve import videos
from codeformer.serve.http import (
    TOKEN,
    Endpoints,
    attachment,
    client_of,
    encode_png,
    job_of,
    lookup,
    owner_of,
    png_response,
    read_settings,
    upload,
)
from codeformer.serve.job_routes import finished
from codeformer.serve.store import RequestError

if TYPE_CHECKING:
    from codeformer.serve.server import Server


def routes(server: Server) -> list[Route]:
    """The tab's routes: the video itself, then its job's download."""
    api = VideoApi(server)
    return [
        Route('/api/videos', api.upload_video, methods=['POST']),
        Route(f'/api/videos/{TOKEN}/input', api.input_video),
        Route(f'/api/videos/{TOKEN}/frame.png', api.frame),
        Route(f'/api/videos/{TOKEN}/preview', api.preview, methods=['POST']),
        Route(f'/api/videos/{TOKEN}/preview/{{which:str}}.png', api.preview_image),
        Route(f'/api/videos/{TOKEN}/start', api.start_video, methods=['POST']),
        Route(f'/api/jobs/{TOKEN}/video.mp4', api.video_result),
    ]


PLAYABLE = {'.mp4': 'video/mp4', '.m4v': 'video/mp4', '.mov': 'video/quicktime', '.webm': 'video/webm',
            '.mkv': 'video/x-matroska', '.ogv': 'video/ogg'}  # by the upload's name; anything else is only bytes


def frame_index(video: videos.Video, value) -> int:
    """``value`` as a frame number of ``video``, clamped to its frames."""
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise RequestError(f'bad frame number {value!r}') from None
    return min(max(0, index), video.frames - 1)


class VideoApi(Endpoints):
    """The video endpoints; an uploaded video stays in ``server.videos`` for previews and jobs."""

    def video_of(self, request: Request) -> videos.Video:
        return lookup(self.server.videos, request, 'video')

    async def upload_video(self, request: Request) -> Response:
        async with upload(self.server, request, 'videos') as (token, path):
            video = videos.Video(token, path.name, path, path.parent)
            data = await run_in_threadpool(videos.probe, video, self.server.max_pixels)
        self.server.videos[token] = video
        return JSONResponse(data)

    async def input_video(self, request: Request) -> Response:
        """The upload as it came, for the page's player: never as a page of its own (a known video type or plain
        bytes, and no sniffing)."""
        video = self.video_of(request)
        media = PLAYABLE.get(video.path.suffix.lower(), 'application/octet-stream')
        return FileResponse(video.path, media_type=media, headers={'Cache-Control': 'no-store',
                                                                   'X-Content-Type-Options': 'nosniff'})

    async def frame(self, request: Request) -> Response:
        video = self.video_of(request)
        index = frame_index(video, request.query_params.get('index', 0))
        image = await run_in_threadpool(videos.frame_at, video, index)
        if request.query_params.get('quick'):  # while the slider is dragged: a JPEG, a fraction of a PNG's time
            data = await run_in_threadpool(videos.quick_jpeg, image)
            return Response(data, media_type='image/jpeg', headers={'Cache-Control': 'no-store'})
        return png_response(await run_in_threadpool(encode_png, image))

    async def preview(self, request: Request) -> Response:
        server = self.server
        video = self.video_of(request)
        data, settings = await read_settings(server, request)
        index = frame_index(video, data.get('index', 0))
        out = await server.on_worker(videos.preview, server.models, video, index, settings, server.max_pixels,
                                     key=('video', video.id), owner=owner_of(request))
        return JSONResponse(out)

    async def preview_image(self, request: Request) -> Response:
        video = self.video_of(request)
        which = request.path_params['which']
        if which not in video.preview:
            raise RequestError('no preview yet', 404)
        return png_response(video.preview[which])

    async def start_video(self, request: Request) -> Response:
        server = self.server
        video = self.video_of(request)
        _, settings = await read_settings(server, request)
        token, folder = server.storage.new_folder('jobs')
        job = videos.VideoJob(token, video, settings, server.models, server.batch_size, server.max_pixels,
                              server.results)
        try:
            return JSONResponse(server.start(job, client_of(request), owner_of(request)))
        except RequestError:
            folder.rmdir()  # the token's folder (empty): the job was not taken
            raise

    async def video_result(self, request: Request) -> Response:
        job = finished(job_of(self.server, request), 'video')
        if job.result is None or not job.result.is_file():
            raise RequestError('no video was written', 404)
        name = f'{job.video.stem}{".partial" if job.partial else ""}.mp4'
        return FileResponse(job.result, media_type='video/mp4', headers={'Content-Disposition': attachment(name)})

"""The video page: one frame picked with a slider and restored as a preview, then the whole video as a job through
the video loop (``codeformer.video.loop.restore_video``), which Stop ends the way Ctrl-C does: the
frames done so far are kept as a playable ``.partial.mp4``."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from codeformer.errors import CodeformerError
from codeformer.hooks import WorkHooks
from codeformer.serve.results import Results
from codeformer.serve.session import Models, Settings
from codeformer.serve.store import RequestError
from codeformer.serve.worker import Worker, WorkerJob
from codeformer.utils.image_io import check_pixels, content_kind, encode_image, file_kind
from codeformer.utils.inputs import InputFile
from codeformer.video.io import Frame, VideoReader
from codeformer.video.loop import Stopped, VideoOptions, output_path, restore_video


@dataclass
class Video:
    id: str
    name: str
    path: Path
    folder: Path
    width: int = 0
    height: int = 0
    frames: int = 0
    fps: float = 0.0
    duration: float | None = None
    preview: dict[str, bytes] = field(default_factory=dict)  # 'before', 'after': PNGs of the latest preview

    @property
    def stem(self) -> str:
        return Path(self.name).stem or 'video'


def probe(video: Video, max_pixels: int | None) -> dict:
    """Open the upload as a video (a ``VideoError`` names it and the cause) and measure it. A photo, or text, is
    refused first by its bytes: FFmpeg would open a ``.txt`` file as a video of the text rendered ("ansi")."""
    kind = file_kind(video.path)
    if kind == 'image' and content_kind(video.path) == 'image':
        raise RequestError(f'{video.name}: a photo, not a video: restore it in the Photo tab')
    if kind != 'video' and _is_text(video.path):  # formats ``file_kind`` does not know (MPEG-TS, ...) go to FFmpeg
        raise RequestError(f'{video.name}: not a video (it holds text)')
    try:
        reader = VideoReader(video.path)
    except CodeformerError as exc:
        raise RequestError(str(exc).replace(str(video.path), video.name)) from None
    try:
        info = reader.info
        if reader.container.format.name == 'tty' or info.width <= 0 or info.height <= 0:
            raise RequestError(f'{video.name}: not a video (no moving picture in it)')
        check_pixels(video.name, info.width, info.height, max_pixels, 'each frame')
        video.width, video.height, video.frames = info.width, info.height, max(1, info.frames)
        video.fps, video.duration = float(info.fps), info.duration
    finally:
        reader.close()
    return describe(video)


def _is_text(path: Path, sample: int = 4096) -> bool:
    """Whether the file starts as text (UTF-8 without NUL bytes): no video container does."""
    try:
        with open(path, 'rb') as f:
            head = f.read(sample)
    except OSError:
        return False
    if b'\0' in head:
        return False
    try:
        head.decode('utf-8')
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the sample's end
    return True


def describe(video: Video) -> dict:
    return {'id': video.id, 'name': video.name, 'width': video.width, 'height': video.height,
            'frames': video.frames, 'fps': round(video.fps, 3), 'duration': video.duration}


def frame_at(video: Video, index: int) -> np.ndarray:
    """Frame ``index`` (counted at the video's frame rate from its start), upright: the container is sought to the
    key frame before it, then decoded up to it; past the end, the last frame."""
    reader = VideoReader(video.path)
    try:
        t = index / video.fps if video.fps else 0.0
        v = reader.video
        if t > 1 and v.time_base:
            reader.container.seek(int((t + reader.start_seconds) / v.time_base), stream=v, backward=True)
        last = None
        for item in reader:
            if isinstance(item, Frame):
                last = item.image
                if item.time >= t - 0.5 / max(video.fps, 1e-3):
                    break
        if last is None:
            raise RequestError(f'{video.name}: no frame could be decoded near {t:.2f} s')
        return last
    finally:
        reader.close()


def quick_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """A frame to look at while the slider moves: a JPEG encodes and travels several times faster than a PNG."""
    return encode_image(image, '.jpg', [cv2.IMWRITE_JPEG_QUALITY, quality])


def preview(models: Models, video: Video, index: int, s: Settings, max_pixels: int | None) -> dict:
    """Restore one frame with the settings (all faces): the before and after PNGs are kept for the page."""
    frame = frame_at(video, index)
    enhancer = models.enhancer(s, cached=True)
    out_h, out_w = enhancer.output_size(*frame.shape[:2])
    check_pixels(video.name, out_w, out_h, max_pixels, 'each restored frame')
    result = enhancer.enhance_batch([frame], w=s.w)[0]
    before = cv2.resize(frame, (result.restored_img.shape[1], result.restored_img.shape[0]),
                        interpolation=cv2.INTER_LINEAR)
    video.preview = {'before': encode_image(before), 'after': encode_image(result.restored_img)}
    return {'index': index, 'faces': len(result.faces), 'width': out_w, 'height': out_h}


class VideoJob(WorkerJob):
    def __init__(self, id: str, video: Video, settings: Settings, models: Models, batch_size: int,
                 max_pixels: int | None, results: Results | None = None):
        super().__init__(id, 'video', video.name, total=video.frames)
        self.video, self.settings, self.models = video, settings, models
        self.options = VideoOptions(batch_size=batch_size, max_pixels=max_pixels, w=settings.w)
        self.result: Path | None = None
        self.partial = False
        self.results = results

    def run(self, worker: Worker) -> None:
        try:
            self._restore(worker)
        finally:
            if self.results is not None and self.result is not None and self.result.is_file():
                self.results.save_file(self.result, f'videos/{self.result.name}')  # it stays, under a free name

    def discard(self) -> None:
        if self.result is not None:
            self.result.unlink(missing_ok=True)

    def _restore(self, worker: Worker) -> None:
        out = self.video.folder / 'out'
        out.mkdir(exist_ok=True)
        inp = InputFile(self.video.path, 'video', self.video.stem)
        hooks = WorkHooks(checkpoint=lambda: worker.checkpoint(self), on_progress=self._progress(worker),
                          on_batch=self._frames_done)
        try:
            info = restore_video(inp.path, output_path(out, inp.name), self.models.enhancer(self.settings),
                                 self.options, name=inp.name, quiet=True,
                                 warn=lambda message: self.errors.append(self._public(message)), hooks=hooks)
        except Stopped as exc:
            self.result, self.partial = exc.partial, exc.partial is not None
            self.message = self._public(str(exc))
            if exc.interrupted is not None:
                raise exc.interrupted from None
            self.state = 'failed'
            return
        self.result = output_path(out, inp.name)
        self.done = info.get('frames', self.done)
        self.message = f'{info.get("frames_written", 0)} frames, {info.get("faces", 0)} faces'

    def _progress(self, worker: Worker):
        """For a batch of frames that takes several network batches (``WorkHooks.on_progress``, where the video loop
        reports it): the share done moves the progress, and Stop and the tasks waiting get their turn after each
        network batch, not only between batches of frames (the frames done so far are kept as the partial)."""
        def progress(frames: int, faces: int, found: int) -> None:
            self.part = frames * faces / max(1, found)
            worker.checkpoint(self)
        return progress

    def _frames_done(self, frames: int, faces: int) -> None:
        self.part = 0.0  # first: the progress never counts the frames twice
        self.done += frames
        self.faces += faces

    def _public(self, text: str) -> str:
        """``text`` without the private folder: the upload by its name, results by their own names."""
        text = text.replace(str(self.video.path), self.video.name)
        return text.replace(str(self.video.folder / 'out') + os.sep, '').replace(str(self.video.folder) + os.sep, '')

    def status(self, position: int | None = None) -> dict:
        data = super().status(position)
        data['download'] = self.result is not None and self.result.exists()
        data['partial'] = self.partial
        data['video'] = self.video.id  # the upload it restores: a reloaded page takes the job up again with it
        return data

"""Reading and writing videos as streams with PyAV (FFmpeg ships inside its wheel: nothing else to install).

Frames are decoded one at a time and handed on as BGR arrays turned upright (rotation metadata applied), each with
its own timestamp, so variable frame rate keeps its timing and a frame that cannot be decoded leaves a gap instead of
shifting everything after it. The writer encodes H.264 (yuv420p, BT.709, constant quality ``crf``) into MP4 and
carries the audio over: packets are copied when MP4 holds their codec in a form players accept, anything else is
re-encoded to AAC. Nothing here keeps more than a few frames: memory does not grow with the length of a video.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from codeformer.errors import CodeformerError

# Audio codecs copied into MP4 unchanged (standardised there and played widely); others are re-encoded to AAC.
AUDIO_COPY_CODECS = frozenset({'aac', 'mp3', 'ac3', 'eac3', 'alac', 'opus', 'flac'})
# Layouts for AAC when the input's channels have no named layout ("2 channels").
_AAC_LAYOUTS = {1: 'mono', 2: 'stereo', 3: '3.0', 4: '4.0', 5: '5.0(side)', 6: '5.1(side)', 7: '6.1', 8: '7.1'}
_ROTATIONS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
DEFAULT_FPS = Fraction(25)


class VideoError(CodeformerError, OSError):
    """A video that cannot be read or written as a whole; the message names the file and the cause."""


@dataclass
class Frame:
    """One decoded frame: ``pts``/``duration`` in the reader's ``time_base``, ``time`` in seconds from the start."""
    index: int
    pts: int
    duration: int
    time: float
    image: np.ndarray  # H x W x 3 BGR uint8, upright


@dataclass
class BadFrame:
    """A frame (or the rest of the file, ``fatal``) that could not be decoded; ``time`` in seconds if known."""
    index: int
    time: float | None
    message: str
    fatal: bool = False


@dataclass
class AudioChunk:
    """Audio on its way to the output: a packet to copy, or a decoded frame to re-encode."""
    track: int
    payload: av.Packet | av.AudioFrame


@dataclass
class AudioTrack:
    """One input audio stream and how it reaches the output."""
    position: int  # index among the carried audio tracks
    stream: av.audio.stream.AudioStream
    codec: str
    copy: bool


@dataclass
class VideoInfo:
    """What a run needs to know before the first frame: for the progress bar, the writer and the report."""
    path: Path
    width: int  # as stored (before rotation)
    height: int
    fps: Fraction
    time_base: Fraction
    frames: int  # exact when the container says, else estimated from the duration; 0 if unknown
    duration: float | None  # seconds
    audio: list[AudioTrack] = field(default_factory=list)
    frames_exact: bool = False  # ``frames`` is the container's count, not an estimate from the duration

    def describe(self) -> dict:
        return {'width': self.width, 'height': self.height, 'fps': round(float(self.fps), 3), 'frames': self.frames,
                'duration': None if self.duration is None else round(self.duration, 3),
                'audio': [f'{t.codec} ({"copied" if t.copy else "re-encoded to aac"})' for t in self.audio]}


def _reason(exc: BaseException) -> str:
    """FFmpeg's message without PyAV's errno prefix and call site."""
    text = getattr(exc, 'strerror', None) or str(exc)
    return str(text).strip().rstrip('.') or type(exc).__name__


def rotate_upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a stored frame the way its display matrix says (``rotation``: degrees counter-clockwise)."""
    code = _ROTATIONS.get(int(round(rotation)) % 360)
    return image if code is None else cv2.rotate(image, code)


class VideoReader:
    """Decode a video file as a stream of ``Frame``/``BadFrame``/``AudioChunk`` items in file order.

    Raises ``VideoError`` (one line naming the file) when the file cannot be opened or holds no video stream.
    Iterate once, then ``close()``, but only after the writer is done: its copied audio streams are set up from
    the input's, which must still be open then.
    """

    def __init__(self, path: str | os.PathLike, copy_codecs: frozenset[str] = AUDIO_COPY_CODECS):
        self.path = Path(path)
        try:
            self.container = av.open(os.fspath(path), metadata_errors='replace')
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise VideoError(f'{path}: cannot open as a video ({_reason(exc)})') from exc
        try:
            # cover art in music files is a "video" stream of one picture: not a video
            moving = [v for v in self.container.streams.video if not v.disposition & av.stream.Disposition.attached_pic]
            if not moving:
                raise VideoError(f'{path}: no video stream')
            self.video = moving[0]
            if self.video.codec_context is None or not self.video.codec_context.name:
                raise VideoError(f'{path}: the video stream has no decoder')
            self.video.thread_type = 'AUTO'
            self.info = self._describe(copy_codecs)
        except BaseException:
            self.container.close()
            raise
        self.rotation: int | None = None

    def _describe(self, copy_codecs: frozenset[str]) -> VideoInfo:
        v, c = self.video, self.container
        fps = v.average_rate or v.guessed_rate or v.base_rate
        fps = Fraction(fps) if fps and fps > 0 else DEFAULT_FPS
        time_base = Fraction(v.time_base) if v.time_base else 1 / fps
        duration = float(v.duration * v.time_base) if v.duration and v.time_base else None
        if duration is None and c.duration:
            duration = c.duration / av.time_base
        frames = int(v.frames or 0) or (int(round(duration * fps)) if duration else 0)
        tracks = []
        for stream in c.streams.audio:
            if stream.codec_context is None or not stream.codec_context.name:
                continue  # an audio stream FFmpeg cannot even name is left out
            name = stream.codec_context.name
            tracks.append(AudioTrack(len(tracks), stream, name, name in copy_codecs))
        cc = v.codec_context
        return VideoInfo(self.path, cc.width, cc.height, fps, time_base, frames, duration, tracks, bool(v.frames))

    @property
    def start_seconds(self) -> float:
        """Where the file's timeline starts: subtracted from every timestamp so that the output starts at 0."""
        start = self.container.start_time
        return start / av.time_base if start and start > 0 else 0.0

    def __iter__(self) -> Iterator[Frame | BadFrame | AudioChunk]:
        info, v = self.info, self.video
        tb = info.time_base
        start_pts = int(round(self.start_seconds / tb))
        default_duration = max(1, int(round(1 / (info.fps * tb))))
        tracks = {t.stream.index: t for t in info.audio}
        shifts = {t.stream.index: int(round(self.start_seconds / t.stream.time_base)) if t.stream.time_base else 0
                  for t in info.audio}
        index, next_pts = 0, start_pts
        try:
            for packet in self.container.demux([v, *(t.stream for t in info.audio)]):
                if packet.stream.index != v.index:
                    yield from self._audio(tracks[packet.stream.index], packet, shifts[packet.stream.index])
                    continue
                try:
                    frames = packet.decode()
                except av.FFmpegError as exc:
                    when = float((packet.pts - start_pts) * tb) if packet.pts is not None else None
                    yield BadFrame(index, when, f'cannot decode ({_reason(exc)}): skipped')
                    index += 1
                    continue
                for frame in frames:
                    pts = frame.pts if frame.pts is not None else next_pts
                    duration = int(frame.duration or 0) or default_duration
                    next_pts = pts + duration
                    yield Frame(index, pts - start_pts, duration, float((pts - start_pts) * tb), self._image(frame))
                    index += 1
        except av.FFmpegError as exc:
            yield BadFrame(index, None, f'cannot read further ({_reason(exc)}): the rest is left out', fatal=True)

    def _audio(self, track: AudioTrack, packet: av.Packet, shift: int) -> Iterator[AudioChunk]:
        if track.copy:
            if packet.size:  # the empty packet at the end only flushes decoders
                if shift and packet.pts is not None:
                    packet.pts -= shift
                if shift and packet.dts is not None:
                    packet.dts -= shift
                yield AudioChunk(track.position, packet)
            return
        try:
            frames = packet.decode()
        except av.FFmpegError:
            return  # a damaged audio packet: a few ms of silence instead of a failed run
        for frame in frames:
            if shift and frame.pts is not None:
                frame.pts -= shift
            yield AudioChunk(track.position, frame)

    def _image(self, frame: av.VideoFrame) -> np.ndarray:
        if self.rotation is None:  # fixed at the first frame: the encoder needs one size throughout
            self.rotation = int(round(frame.rotation or 0)) % 360
        rgb_range = {'src_color_range': frame.color_range} if frame.color_range else {}
        image = frame.reformat(format='bgr24', **rgb_range).to_ndarray()
        return rotate_upright(image, self.rotation)

    def close(self) -> None:
        self.container.close()


def _aac_layout(stream: av.audio.stream.AudioStream) -> str:
    """The input's layout if the AAC encoder takes it, else the standard one for its channel count (or stereo)."""
    name = stream.layout.name
    channels = len(stream.layout.channels)
    for candidate in (name, _AAC_LAYOUTS.get(channels), 'stereo'):
        if not candidate:
            continue
        ctx = av.CodecContext.create('aac', 'w')
        ctx.sample_rate, ctx.format = _aac_rate(stream.rate), 'fltp'
        try:
            ctx.layout = candidate
            ctx.open()
            return candidate
        except (av.FFmpegError, ValueError):
            continue
    return 'stereo'


def _aac_rate(rate: int) -> int:
    rates = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
    return rate if rate in rates else 48000


class VideoWriter:
    """Encode upright BGR frames to an MP4 file (H.264, yuv420p) and carry the input's audio tracks over.

    ``time_base``: the unit of the ``pts``/``duration`` given to ``write_frame`` (the input's, so that timing is
    kept exactly). The container is opened at the first frame, when the size is known; audio that arrives before
    it waits. ``close()`` flushes the encoders and writes the index: the file is playable from then on.
    """

    def __init__(self, path: str | os.PathLike, fps: Fraction, time_base: Fraction, crf: int = 18,
                 preset: str = 'medium', audio: list[AudioTrack] | tuple = ()):
        self.path = Path(path)
        self.fps, self.time_base, self.crf, self.preset = Fraction(fps), Fraction(time_base), int(crf), preset
        self.tracks = list(audio)
        self.container: av.container.OutputContainer | None = None
        self.stream = None
        self.audio_streams: list = []
        self._early_audio: list[AudioChunk] = []
        self._durations: dict[int, int] = {}
        self._last_pts: int | None = None
        self.frames = 0
        self.size: tuple[int, int] | None = None

    def _open(self, width: int, height: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            out = av.open(os.fspath(self.path), 'w', format='mp4')
        except (av.FFmpegError, OSError) as exc:
            raise VideoError(f'{self.path}: cannot create ({_reason(exc)})') from exc
        self.container = out
        # B-frames off: with them libx264 derives decode timestamps from the first frames' spacing, which gets
        # the MP4 durations wrong when the frame rate varies.
        stream = out.add_stream('libx264', rate=self.fps,
                                options={'crf': str(self.crf), 'preset': self.preset, 'bf': '0'})
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        stream.codec_context.time_base = self.time_base
        cc = stream.codec_context
        cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709, as the frames are converted below
        cc.color_range = 1  # limited ("TV") range, what players expect of H.264
        self.stream = stream
        for track in self.tracks:
            if track.copy:
                self.audio_streams.append(out.add_stream_from_template(track.stream))
            else:
                rate = _aac_rate(track.stream.rate)
                self.audio_streams.append(out.add_stream('aac', rate=rate, layout=_aac_layout(track.stream)))
        self.size = (width, height)

    def write_frame(self, image: np.ndarray, pts: int, duration: int) -> None:
        """Encode one BGR frame shown from ``pts`` for ``duration`` (in ``time_base``); sizes must not change."""
        h, w = image.shape[:2]
        if h % 2 or w % 2:  # 4:2:0 needs even sizes: repeat the last row/column
            image = cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
            h, w = image.shape[:2]
        if self.container is None:
            self._open(w, h)
            early, self._early_audio = self._early_audio, []
            for chunk in early:
                self.write_audio(chunk)
        elif (w, h) != self.size:
            raise VideoError(f'{self.path}: frame size changed from {self.size[0]}x{self.size[1]} to {w}x{h}')
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # encoders need strictly increasing timestamps
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format='bgr24')
        frame = frame.reformat(format='yuv420p', dst_colorspace='ITU709', dst_color_range='MPEG')
        frame.pts, frame.time_base = pts, self.time_base
        self._durations[pts] = max(1, int(duration))
        self._mux_video(self.stream.encode(frame))
        self.frames += 1

    def _mux_video(self, packets) -> None:
        for packet in packets:
            # libx264 leaves packet durations at 0; the last one decides the file's duration, so give them all theirs
            packet.duration = self._durations.pop(packet.pts, 0)
            self.container.mux(packet)

    def write_audio(self, chunk: AudioChunk) -> None:
        """Copy or re-encode a piece of audio (kept back until the first frame opens the file)."""
        if self.container is None:
            self._early_audio.append(chunk)
            return
        stream = self.audio_streams[chunk.track]
        if isinstance(chunk.payload, av.Packet):
            chunk.payload.stream = stream
            self.container.mux(chunk.payload)
        else:
            for packet in stream.encode(chunk.payload):
                self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoders and finish the file; without a single frame there is nothing to finish."""
        if self.container is None:
            return
        try:
            self._mux_video(self.stream.encode(None))
            for track, stream in zip(self.tracks, self.audio_streams):
                if not track.copy:
                    for packet in stream.encode(None):
                        self.container.mux(packet)
        finally:
            self.container.close()
            self.container = None

    def abort(self) -> None:
        """Close without flushing (after an error); the file is then incomplete and should be removed."""
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001  (the file is discarded anyway)
                pass
            self.container = None


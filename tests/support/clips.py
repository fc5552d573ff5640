"""Writing frames as a video, for tests and benchmarks that make their own clips."""
from __future__ import annotations

import os

import av
import numpy as np


def encode_frames(target: str | os.PathLike | object, frames: list[np.ndarray], codec: str = 'ffv1',
                  pix_fmt: str = 'bgr0', fps: int = 25, options: dict | None = None, container: str | None = None):
    """``frames`` (BGR uint8) encoded one tick each into ``target`` (a path, or a file object with ``container``)."""
    with av.open(target if not isinstance(target, os.PathLike) else str(target), 'w', format=container) as out:
        stream = out.add_stream(codec, rate=fps, options=options or {})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = pix_fmt
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format='bgr24')
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target

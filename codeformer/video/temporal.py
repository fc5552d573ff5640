"""Codes that hold still: each tracked face's code choice carried from frame to frame (``--temporal on``).

Per frame, CodeFormer's transformer picks each of its code positions (256 in the released model) on its own, as the
argmax over the codebook. Where two codes score nearly alike, a little compression noise flips the choice, and eyes,
teeth and skin texture change from frame to frame. Here, per tracked face, the codebook log-probabilities are
averaged over time (an exponential average, ``TemporalSettings.alpha``) and a position keeps its previous code
unless another wins the average by ``margin`` (hysteresis). Training-free: the released weights, the encoder features
and the fusion with ``w`` are those of the current frame; only the choice of codes has memory.

The memory is dropped (the frame is restored exactly as per-frame) on a shot cut (the frame's colour histogram jumps),
for a track that is new or was lost for a frame, and when the face's aligned input crop changes a lot (a large turn
of the head, another face under the same track). It holds the current frame's tracks only: one (positions x codebook)
array per face on screen, whatever the video's length.

Measured and left out (``benchmarks/bench_temporal.py``): warping the carried scores by the motion inside the aligned
crops, as the crops already follow the face and what motion is left in them (under 1 px) is a thirtieth of a code's
32 px cell; and carrying the encoder features the fusion uses (an exponential average at 0.3, warped by the crops'
optical flow, lowered the still clip's warping error by 7 % at margin 2, from 11.9 to 11.1, and would make ``w``'s
fidelity lag).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch


@dataclass(frozen=True)
class TemporalSettings:
    """The constants of the temporal mode, tuned on ``benchmarks/bench_temporal.py``'s clips (golden weights, README:
    Videos); the figures below are from its runs.

    alpha: weight of the new frame's log-probabilities in the running average (1: no memory). Lower steadies codes
        more but lets a real change of the face (a turn, a smile) take effect later: on the moving, turning clip the
        restored face trails the per-frame one by 0.55 frames at 1 and 0.60 at 0.9 (margin 1.5); on an earlier
        version of the clips, 1.35 frames at 0.8 and 1.45 at 0.5 (margin 1). 0.9: under one frame, with some
        averaging.
    margin: nats by which a new code must beat the held one in the average to replace it. Noise moves close codes by
        less than this; a real change of the face moves them by more. The still clips' flip rate against per-frame
        is 0.44 at margin 1, 0.29-0.31 at 1.5 and 0.18 at 2, while the moving clip's lag is 0.45 (alpha 1), 0.60
        and 1.50 frames: 1.5 is the smallest margin that brings the still clips' flips under a third, and keeps the lag
        under one frame.
    cut: total-variation distance (0..1) between consecutive frames' colour histograms above which the frame is a
        shot cut and every track starts afresh. Frames of one shot differed by at most 0.029 (a moving face, H.264),
        the benchmark's cut by 0.237.
    crop_change: mean absolute difference between consecutive aligned input crops (32x32 gray thumbnails, each
        brought to zero mean and unit spread) above which one track starts afresh (the head turned, or the track
        jumped to another face). Noise, compression and the moving, turning clip stayed at or below 0.044.
    """
    alpha: float = 0.9
    margin: float = 1.5
    cut: float = 0.12
    crop_change: float = 0.45


def pick_codes(logits: torch.Tensor, memory: torch.Tensor | None, previous: torch.Tensor | None, alpha: float,
               margin: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(averaged log-probabilities, codes) for one face: ``logits`` (positions x codebook) of this frame, ``memory``
    the average carried from the previous frame and ``previous`` its codes (both None after a reset).

    Without memory the codes are the plain argmax of ``logits``: what the network picks on its own.
    """
    if memory is None or previous is None:
        return torch.log_softmax(logits.float(), dim=-1), logits.argmax(dim=-1)
    blended = alpha * torch.log_softmax(logits.float(), dim=-1) + (1 - alpha) * memory
    best = blended.argmax(dim=-1)
    gain = blended.gather(-1, best[:, None]) - blended.gather(-1, previous[:, None])
    return blended, torch.where(gain[:, 0] > margin, best, previous)


def crop_signature(face: np.ndarray) -> np.ndarray:
    """A 32x32 gray thumbnail of an aligned face crop, brought to zero mean and unit spread (lighting-blind)."""
    img = face.astype(np.float32)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    thumb = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA)
    return (thumb - thumb.mean()) / (thumb.std() + 1e-6)


def frame_signature(image: np.ndarray) -> np.ndarray:
    """Per channel a 16-bin histogram (normalised) of a frame shrunk to about 64 px: what a shot cut changes."""
    h, w = image.shape[:2]
    step = max(1, max(h, w) // 64)
    small = image[::step, ::step]
    small = small[..., None] if small.ndim == 2 else small[..., :3]
    top = 65536 if small.dtype == np.uint16 else 256
    hists = [np.histogram(small[..., c], bins=16, range=(0, top))[0] for c in range(small.shape[2])]
    return np.stack(hists).astype(np.float64) / max(1, small.shape[0] * small.shape[1])


class TrackMemory:
    """One track's state: the averaged log-probabilities, the codes held, and its last input crop's thumbnail."""

    def __init__(self, settings: TemporalSettings):
        self.settings = settings
        self.clear()

    def clear(self) -> None:
        self.blended: torch.Tensor | None = None
        self.codes: torch.Tensor | None = None
        self.thumb: np.ndarray | None = None

    def pick(self, logits: torch.Tensor, face: np.ndarray) -> torch.Tensor:
        """The codes for this frame's ``logits`` (positions x codebook), given its aligned input crop ``face``."""
        thumb = crop_signature(face)
        if self.thumb is not None and float(np.abs(thumb - self.thumb).mean()) > self.settings.crop_change:
            self.clear()
        self.thumb = thumb
        s = self.settings
        self.blended, self.codes = pick_codes(logits, self.blended, self.codes, s.alpha, s.margin)
        return self.codes


class _Step:
    """One face of one frame: its track's memory, reset first when the frame starts a new shot.

    The reset waits for ``pick``: frames of one network batch are picked in order, after all were handed out.
    """

    def __init__(self, memory: TrackMemory, reset: bool):
        self.memory, self.reset = memory, reset

    def pick(self, logits: torch.Tensor, face: np.ndarray) -> torch.Tensor:
        if self.reset:
            self.memory.clear()
        return self.memory.pick(logits, face)


class TemporalStates:
    """The memories of one video's tracks. ``frame(image, faces)`` (frames in order) gives one object per face for
    ``FaceEnhancer.enhance_batch(states=...)``: None for a face without a track id (restored per frame)."""

    def __init__(self, settings: TemporalSettings | None = None):
        self.settings = settings or TemporalSettings()
        self.tracks: dict[int, TrackMemory] = {}
        self._signature: np.ndarray | None = None

    def frame(self, image: np.ndarray, faces: list) -> list[_Step | None]:
        signature = frame_signature(image)
        cut = (self._signature is not None and signature.shape == self._signature.shape
               and 0.5 * float(np.abs(signature - self._signature).sum(1).mean()) > self.settings.cut)
        self._signature = signature
        steps: list[_Step | None] = []
        tracks: dict[int, TrackMemory] = {}
        for face in faces:
            track_id = getattr(face, 'track_id', None)
            if track_id is None:
                steps.append(None)
                continue
            memory = self.tracks.get(track_id)
            fresh = memory is None  # new, or missing from the previous frame: nothing to carry
            memory = tracks[track_id] = memory or TrackMemory(self.settings)
            steps.append(_Step(memory, reset=cut and not fresh))
        self.tracks = tracks  # only the tracks on this frame: memory stays constant
        return steps

"""Faces followed across video frames, their landmarks smoothed over time before alignment.

Detecting and aligning every frame on its own makes restored faces flicker: the five landmarks a detector gives wobble
by a pixel or two from frame to frame, the aligned crop wobbles with them, and the network sees a slightly different
face each time. ``FaceTracker`` links detections into tracks (by box overlap), and gives each frame the faces of its
tracks fitted by a local linear regression over the frames around it (Gaussian weights, ``radius`` frames on each
side). Being centred, the fit has no lag on steady motion; the price is that a frame's faces are known ``radius``
frames later, which the video loop absorbs by holding that many frames. A face the detector misses on a frame inside a
track is filled in from its neighbours. With ``detect_every`` > 1 the detector runs on every n-th frame only and the
faces are carried through the frames between by optical flow (a similarity fitted to tracked corners in the face).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from codeformer.alignment import RETINAFACE_5
from codeformer.utils.image_io import as_uint8


@dataclass
class TrackedFace:
    """A face as ``FaceEnhancer.enhance_batch(faces=...)`` takes it: box (x1, y1, x2, y2), score, five landmarks in the
    detector's layout."""
    box: np.ndarray
    score: float
    landmarks: np.ndarray
    track_id: int = 0
    layout: str = RETINAFACE_5.name
    robust_fit: bool = True  # False for smoothed landmarks: aligned by least squares (``alignment.face_matrix``)


@dataclass
class _Track:
    id: int
    # frame index -> 14 values: ten landmark coordinates, then the box; and the detector's score there
    obs: dict[int, np.ndarray] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)
    last: int = -1  # frame of the latest observation
    misses: int = 0  # detection rounds in a row without a match
    ended: bool = False
    layout: str = RETINAFACE_5.name  # of the detector's points

    def latest(self) -> np.ndarray:
        return self.obs[self.last]


def _pack(face) -> np.ndarray:
    return np.concatenate([np.asarray(face.landmarks, np.float64).reshape(10), np.asarray(face.box, np.float64)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def local_linear(times: np.ndarray, values: np.ndarray, t: float, sigma: float) -> np.ndarray:
    """The value at ``t`` of a straight line fitted to ``values`` (N x D) at ``times`` with Gaussian weights.

    Centred on ``t`` it is a weighted mean that a constant velocity does not bias (no lag); at the end of a track,
    where the window is one-sided, the line carries the trend instead of dragging behind it.
    """
    d = np.asarray(times, np.float64) - t
    w = np.exp(-0.5 * (d / sigma) ** 2)
    if len(d) < 2 or np.ptp(d) == 0:
        return (w[:, None] * values).sum(0) / w.sum()
    sw, swd, swdd = w.sum(), (w * d).sum(), (w * d * d).sum()
    det = sw * swdd - swd * swd
    if det <= 1e-9 * sw * sw:
        return (w[:, None] * values).sum(0) / sw
    swy = (w[:, None] * values).sum(0)
    swdy = ((w * d)[:, None] * values).sum(0)
    return (swdd * swy - swd * swdy) / det  # intercept of the weighted least-squares line in d


def radius_for(fps: float, seconds: float = 0.15) -> int:
    """Frames on each side of the smoothing window for a frame rate: the same span of time at any rate."""
    return int(min(8, max(2, round(float(fps) * seconds))))


class FaceTracker:
    """Link per-frame detections into tracks and hand out each frame's (smoothed) faces.

    Feed frames in order with ``push(index, detections, image)``: ``detections`` is the detector's list for that frame,
    or None for a frame the detector skipped (then ``image`` is needed: faces are carried there by optical flow).
    ``push`` returns the frames whose faces are final, as (index, faces) in order; ``flush()`` the rest at the end.

    Args:
        smooth: fit landmarks over time (False: each frame's own detections, still tracked for ``detect_every``).
        radius: frames on each side of the fit; faces come out that many frames after their frame is pushed.
        iou_threshold: least box overlap for a detection to continue a track.
        max_misses: detection rounds a track survives without a match (the detector missing a face now and then).
    """

    def __init__(self, smooth: bool = True, radius: int = 4, iou_threshold: float = 0.3, max_misses: int = 2):
        self.smooth = smooth
        self.radius = int(radius) if smooth else 0
        self.sigma = max(1.0, self.radius / 2)
        self.iou_threshold = iou_threshold
        self.max_misses = max_misses
        self.tracks: list[_Track] = []
        self._pending: deque[int] = deque()
        self._latest = -1
        self._next_id = 0
        self._prev_gray: np.ndarray | None = None
        self._prev_index = -1

    # -- input --------------------------------------------------------------------------------------------
    def push(self, index: int, detections: list | None, image: np.ndarray | None = None) -> list[tuple[int, list]]:
        """Add frame ``index``'s detections (None: not detected, follow the faces in ``image``)."""
        if index <= self._latest:
            raise ValueError(f'frames must come in order: {index} after {self._latest}')
        gray = _gray(image) if image is not None else None
        if detections is None:
            self._follow(index, gray)
        else:
            self._match(index, detections)
        if gray is not None:
            self._prev_gray, self._prev_index = gray, index
        self._latest = index
        self._pending.append(index)
        ready = []
        while self._pending and self._pending[0] + self.radius <= index:
            ready.append(self._emit(self._pending.popleft()))
        self._prune()
        return ready

    def flush(self) -> list[tuple[int, list]]:
        """Faces of the frames still held back (the last ``radius`` ones)."""
        out = [self._emit(i) for i in self._pending]
        self._pending.clear()
        return out

    def _match(self, index: int, detections: list) -> None:
        live = [t for t in self.tracks if not t.ended]
        packed = [_pack(d) for d in detections]
        pairs = sorted(((_iou(t.latest()[10:], p[10:]), ti, di) for ti, t in enumerate(live)
                        for di, p in enumerate(packed)), reverse=True)
        used_t, used_d = set(), set()
        for iou, ti, di in pairs:
            if iou < self.iou_threshold:
                break
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            self._observe(live[ti], index, packed[di], float(detections[di].score))
        for ti, track in enumerate(live):
            if ti not in used_t:
                track.misses += 1
                track.ended = track.misses > self.max_misses
        for di, p in enumerate(packed):
            if di not in used_d:
                track = _Track(self._next_id, layout=getattr(detections[di], 'layout', RETINAFACE_5.name))
                self._next_id += 1
                self._observe(track, index, p, float(detections[di].score))
                self.tracks.append(track)

    def _observe(self, track: _Track, index: int, values: np.ndarray, score: float, detected: bool = True) -> None:
        track.obs[index], track.scores[index], track.last = values, score, index
        if detected:
            track.misses = 0

    def _follow(self, index: int, gray: np.ndarray | None) -> None:
        """Carry every live track seen on the previous frame into this one by optical flow."""
        if gray is None:
            raise ValueError('frames without detections need their image, to follow the faces by optical flow')
        for track in self.tracks:
            if track.ended or track.last != self._prev_index or self._prev_gray is None:
                continue
            moved = follow_face(self._prev_gray, gray, track.latest())
            if moved is not None:
                self._observe(track, index, moved, track.scores[track.last], detected=False)

    # -- output -------------------------------------------------------------------------------------------
    def _emit(self, index: int) -> tuple[int, list[TrackedFace]]:
        faces = []
        for track in self.tracks:
            if index in track.obs:
                pass
            elif not (self.smooth and _brackets(track.obs, index, self.radius)):
                continue
            values = self._value(track, index)
            score = track.scores.get(index)
            if score is None:  # filled in between two observations
                near = min(track.scores, key=lambda j: abs(j - index))
                score = track.scores[near]
            faces.append(TrackedFace(values[10:].copy(), score, values[:10].reshape(5, 2).copy(), track.id,
                                     track.layout, robust_fit=not self.smooth))
        faces.sort(key=lambda f: -f.score)
        return index, faces

    def _value(self, track: _Track, index: int) -> np.ndarray:
        if not self.smooth:
            return track.obs[index]
        near = [j for j in track.obs if abs(j - index) <= self.radius]
        values = np.stack([track.obs[j] for j in near])
        return local_linear(np.array(near, np.float64), values, float(index), self.sigma)

    def _prune(self) -> None:
        """Forget observations no pending frame can use, and tracks with none left."""
        horizon = (self._pending[0] if self._pending else self._latest + 1) - self.radius
        keep = []
        for track in self.tracks:
            for j in [j for j in track.obs if j < horizon]:
                if j != track.last:
                    del track.obs[j], track.scores[j]
            if track.ended and track.last < horizon:
                continue
            keep.append(track)
        self.tracks = keep


def _brackets(obs: dict[int, np.ndarray], index: int, radius: int) -> bool:
    """An observation within ``radius`` frames on both sides of ``index`` (a gap inside a track)."""
    return any(index - radius <= j < index for j in obs) and any(index < j <= index + radius for j in obs)


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        gray = image
    else:
        gray = cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY)
    return as_uint8(gray)


_LK = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))


def follow_face(prev_gray: np.ndarray, gray: np.ndarray, values: np.ndarray) -> np.ndarray | None:
    """A face (landmarks and box packed as in a track) moved from ``prev_gray`` to ``gray``, or None if lost.

    Corners inside the box and the landmarks themselves are tracked with pyramidal Lucas-Kanade both ways; those that
    come back where they started give a similarity (RANSAC), which carries landmarks and box along.
    """
    h, w = prev_gray.shape[:2]
    box = values[10:]
    x0, y0 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x1, y1 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    size = max(x1 - x0, y1 - y0)
    mask = np.zeros_like(prev_gray)
    mask[y0:y1, x0:x1] = 255
    corners = cv2.goodFeaturesToTrack(prev_gray, maxCorners=60, qualityLevel=0.01,
                                      minDistance=max(2, size // 16), mask=mask, blockSize=5)
    points = values[:10].reshape(5, 2).astype(np.float32)
    if corners is not None:
        points = np.vstack([points, corners.reshape(-1, 2)])
    p0 = points.reshape(-1, 1, 2)
    p1, st1, _ = cv2.calcOpticalFlowPyrLK(prev_gray, gray, p0, None, **_LK)
    if p1 is None:
        return None
    back, st2, _ = cv2.calcOpticalFlowPyrLK(gray, prev_gray, p1, None, **_LK)
    good = (st1.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm((back - p0).reshape(-1, 2), axis=1) < 1.0)
    if good.sum() < 4:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(p0[good], p1[good], method=cv2.RANSAC,
                                                  ransacReprojThreshold=max(1.0, size / 100))
    if matrix is None or inliers is None or inliers.sum() < 4:
        return None
    lm = values[:10].reshape(5, 2) @ matrix[:, :2].T + matrix[:, 2]
    corners4 = np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]])
    moved = corners4 @ matrix[:, :2].T + matrix[:, 2]
    new_box = np.concatenate([moved.min(0), moved.max(0)])
    return np.concatenate([lm.reshape(10), new_box])

"""Tracking and temporal smoothing of face landmarks: measured on tracks with known motion and known noise."""
import cv2
import numpy as np
import pytest

from codeformer.video.tracking import FaceTracker, TrackedFace, follow_face, local_linear, radius_for
from tests.support.cli import ROOT

FIVE = np.array([[40, 50], [60, 50], [50, 60], [42, 70], [58, 70]], np.float64)  # a face's five points, 20 px eyes


def jitter(track: np.ndarray) -> float:
    """Mean size of the frame-to-frame second difference: how much the points shake, steady motion aside."""
    return float(np.abs(track[2:] - 2 * track[1:-1] + track[:-2]).mean())


def face(landmarks: np.ndarray, score: float = 0.99) -> TrackedFace:
    return TrackedFace(np.r_[landmarks.min(0) - 15, landmarks.max(0) + 15], score, landmarks)


def smooth_motion(n: int) -> np.ndarray:
    """n x 5 x 2 landmarks of a face drifting right while swaying (what a person on video does)."""
    t = np.arange(n)
    shift = np.stack([30 * np.sin(2 * np.pi * t / 90) + 0.5 * t, 10 * np.cos(2 * np.pi * t / 70)], 1)
    return FIVE[None] + shift[:, None, :]


def run(tracker: FaceTracker, per_frame: list[list]) -> dict[int, list]:
    out = {}
    for i, dets in enumerate(per_frame):
        out.update(tracker.push(i, dets))
    out.update(tracker.flush())
    return out


@pytest.mark.parametrize('noise', [1.0, 2.0])
def test_smoothing_cuts_jitter_without_lag(noise):
    n = 150
    truth = smooth_motion(n)
    noisy = truth + np.random.default_rng(int(noise * 10)).normal(0, noise, truth.shape)
    out = run(FaceTracker(radius=radius_for(25)), [[face(lm)] for lm in noisy])
    assert sorted(out) == list(range(n)) and all(len(out[i]) == 1 for i in range(n))
    smoothed = np.stack([out[i][0].landmarks for i in range(n)])
    # jitter: the detector's noise shows up in full; smoothed it drops by more than ten times
    assert jitter(noisy) > 10 * jitter(smoothed), (jitter(noisy), jitter(smoothed))
    # closer to the true motion than the detections, and not behind it: no shift in time fits better than none
    err = np.abs(smoothed - truth).mean()
    assert err < 0.6 * np.abs(noisy - truth).mean()
    lag_err = {s: np.abs(smoothed[10 + s:n - 10 + s] - truth[10:n - 10]).mean() for s in range(-3, 4)}
    assert min(lag_err, key=lag_err.get) == 0, lag_err
    # the ends of the track (one-sided windows) stay close too
    assert np.abs(smoothed[[0, -1]] - truth[[0, -1]]).max() < 3 * noise


def test_no_smooth_gives_each_frames_detections_at_once():
    truth = smooth_motion(20)
    tracker = FaceTracker(smooth=False)
    for i, lm in enumerate(truth):
        ready = tracker.push(i, [face(lm)])
        assert [idx for idx, _ in ready] == [i]  # nothing held back
        np.testing.assert_array_equal(ready[0][1][0].landmarks, lm)


def test_two_faces_keep_their_tracks_and_a_missed_detection_is_filled_in():
    a, b = smooth_motion(30), smooth_motion(30) + [120, 10]
    frames = [[face(b[i], 0.8), face(a[i], 0.9)] if i != 12 else [face(b[i], 0.8)] for i in range(30)]
    out = run(FaceTracker(radius=3), frames)
    ids = {f.track_id for i in range(30) for f in out[i]}
    assert len(ids) == 2
    for i in range(30):
        assert len(out[i]) == 2  # frame 12's face a comes from its neighbours
        by_id = {f.track_id: f for f in out[i]}
        near_a = min(by_id.values(), key=lambda f: np.abs(f.landmarks - a[i]).max())
        assert np.abs(near_a.landmarks - a[i]).max() < 1.0
    # a face that really leaves is not carried on past its last detection
    gone = [[face(a[i])] if i < 10 else [] for i in range(20)]
    out = run(FaceTracker(radius=3), gone)
    assert all(len(out[i]) == 1 for i in range(10)) and not any(out[i] for i in range(10, 20))


def test_a_jump_starts_a_new_track_instead_of_smearing():
    lm = [FIVE + [5 * (i < 10), 0] + ([150, 0] if i >= 10 else [0, 0]) for i in range(20)]
    out = run(FaceTracker(radius=4), [[face(x)] for x in lm])
    assert {f.track_id for f in out[9]} != {f.track_id for f in out[10]}
    np.testing.assert_allclose(out[9][0].landmarks, lm[9], atol=1e-6)
    np.testing.assert_allclose(out[10][0].landmarks, lm[10], atol=1e-6)


def test_local_linear_is_exact_on_lines_and_one_sided_windows():
    times = np.array([0., 1, 2, 3, 4])
    values = np.stack([3 * times + 1, -times], 1)
    for t in (0.0, 2.0, 4.0, 5.0):
        np.testing.assert_allclose(local_linear(times, values, t, 2.0), [3 * t + 1, -t], atol=1e-9)
    assert radius_for(25) == 4 and radius_for(60) == 8 and radius_for(5) == 2


def test_faces_are_followed_by_optical_flow_between_detections():
    """--detect_every: on frames without detection the points move with the image."""
    scene = cv2.resize(cv2.imread(str(ROOT / 'inputs' / 'whole_imgs' / 'astronaut.jpg')), (256, 256))
    # the astronaut's face at this scale: landmarks from the detector on the full image, halved
    lm = np.array([[101.6, 50.0], [123.1, 51.8], [112.6, 64.6], [100.9, 69.7], [121.4, 71.9]])
    steps = [(1.5, 0.5), (2.0, -1.0), (2.5, 0.0), (1.0, 1.5)]
    offset = np.zeros(2)
    tracker = FaceTracker(smooth=False)
    frames = []
    for k in range(len(steps) + 1):
        if k:
            offset += steps[k - 1]
        m = np.float32([[1, 0, offset[0]], [0, 1, offset[1]]])
        frames.append(cv2.warpAffine(scene, m, (256, 256), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    shifts = np.cumsum([(0, 0), *steps], axis=0)
    out = {}
    for k, img in enumerate(frames):
        out.update(tracker.push(k, [face(lm)] if k == 0 else None, img))
    for k in range(len(frames)):
        np.testing.assert_allclose(out[k][0].landmarks, lm + shifts[k], atol=0.35)
    # a face that vanishes (blank frame) is lost rather than made up
    assert follow_face(cv2.cvtColor(frames[0], cv2.COLOR_BGR2GRAY), np.zeros((256, 256), np.uint8),
                       np.r_[lm.reshape(10), lm.min(0) - 15, lm.max(0) + 15]) is None


def test_frames_must_come_in_order_and_skipped_ones_need_the_image():
    tracker = FaceTracker()
    tracker.push(3, [])
    with pytest.raises(ValueError, match='in order'):
        tracker.push(2, [])
    with pytest.raises(ValueError, match='image'):
        tracker.push(4, None)


def test_tracked_faces_keep_the_detectors_landmark_layout():
    """dlib's points are aligned to dlib's template, so a track of dlib faces must hand them out as dlib faces."""
    from codeformer.detection import DetectedFace
    dets = [[DetectedFace(np.r_[FIVE.min(0) - 15, FIVE.max(0) + 15], 0.9, FIVE + i, layout='dlib5')] for i in range(6)]
    out = run(FaceTracker(radius=2), dets)
    assert sorted(out) == list(range(6))
    assert all(f.layout == 'dlib5' for faces in out.values() for f in faces)


def test_smoothed_faces_are_aligned_by_least_squares_so_the_crop_moves_with_them():
    """The mirrored astronaut of bench_temporal's two-face clip, two frames apart: its landmarks moved by 0.2 px,
    but the official robust fit switched its pair of points and jumped the crop by 8 px; smoothed faces ask for
    least squares, which follows the landmarks."""
    from codeformer.alignment import face_matrix

    frames = [np.array([[777.3, 103.5], [819.8, 101.0], [800.1, 127.7], [778.3, 141.4], [822.7, 139.2]]),
              np.array([[777.3, 103.5], [819.6, 100.9], [799.9, 127.7], [778.4, 141.4], [822.5, 139.1]])]
    centre = np.array([800.0, 120.0, 1.0])
    detected = [face_matrix(face(lm)) @ centre for lm in frames]
    assert np.abs(detected[1] - detected[0]).max() > 5  # what a photo gets, as the official fits it
    for smooth in (True, False):
        tracker = FaceTracker(smooth=smooth, radius=0 if not smooth else 1)
        out = run(tracker, [[face(lm)] for lm in frames])
        tracked = [out[i][0] for i in range(2)]
        assert all(t.robust_fit is not smooth for t in tracked)
        if smooth:
            moved = face_matrix(tracked[1]) @ centre - face_matrix(tracked[0]) @ centre
            assert np.abs(moved).max() < 1

"""The temporal mode of the video loop (``codeformer.video.temporal``): codes carried per track, reset at shot cuts and
for a face whose crop changes, each face's memory its own, and ``--temporal off`` the per-frame result exactly.

Clips are written losslessly (FFV1), so that two clips differing in one half of the frame give the other half the
same pixels; faces come from a detector that always finds the same places, so the tracks are known."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from codeformer.cli.arguments import restore_parser
from codeformer.detection.common import DetectedFace
from codeformer.enhancer import FaceEnhancer
from codeformer.restorer import FaceRestorer
from codeformer.video.loop import VideoOptions, restore_video
from codeformer.video.temporal import TemporalSettings, TemporalStates, pick_codes
from tests.support.clips import encode_frames
from tests.support.nets import small_codeformer
from tests.video.test_loop import SCENE

HOLD = dict(margin=1e9)  # codes never change inside a shot: any reset shows
LEFT, RIGHT = (30, 170, 150), (330, 170, 150)  # x, y, size of each face in the 512 px working frame (apart)


def scene() -> np.ndarray:
    return cv2.resize(cv2.imread(str(SCENE)), (256, 256), interpolation=cv2.INTER_AREA)


def half(x: int, y: int, noise_seed: int) -> np.ndarray:
    """A 128x64 window of the scene at (x, y), with a little noise of its own."""
    rng = np.random.default_rng(noise_seed)
    part = scene()[y:y + 128, x:x + 64].astype(np.float64) + rng.normal(0, 3, (128, 64, 3))
    return np.clip(np.round(part), 0, 255).astype(np.uint8)


def write_clip(path, frames: list[np.ndarray]):
    """A lossless clip: the loop sees exactly these pixels."""
    return encode_frames(path, frames)


def face_at(x: float, y: float, s: float, score: float) -> DetectedFace:
    points = [(0.32, 0.42), (0.68, 0.42), (0.5, 0.58), (0.36, 0.76), (0.64, 0.76)]
    return DetectedFace(np.array([x, y, x + s, y + s], np.float64), score,
                        np.array([(x + u * s, y + v * s) for u, v in points], np.float64))


class FixedDetector:
    """Finds the same faces on every frame (in the working frame's pixels)."""

    def __init__(self, *places):
        self.faces = [face_at(*p, score=0.99 - 0.01 * i) for i, p in enumerate(places)]

    def detect(self, bgr):
        return list(self.faces)


def enhancer_for(*places, batch_size: int = 1) -> FaceEnhancer:
    restorer = FaceRestorer(net=small_codeformer(), device='cpu', batch_size=batch_size)
    return FaceEnhancer(restorer, upscale=1, detection_model=FixedDetector(*places), use_parse=False, progress=False)


def run(clip, enhancer, tmp_path, **options) -> list:
    """Restore ``clip``; per frame what ``enhance_batch`` gave (``Enhanced``), and whether it was handed states."""
    seen, enhance_batch = [], enhancer.enhance_batch

    def spy(images, faces=None, **kwargs):
        results = enhance_batch(images, faces=faces, **kwargs)
        seen.extend((r, 'states' in kwargs, image, f) for r, image, f in zip(results, images, faces))
        return results

    enhancer.enhance_batch = spy
    try:
        restore_video(clip, tmp_path / 'out.mp4', enhancer, VideoOptions(**options), quiet=True)
    finally:
        enhancer.enhance_batch = enhance_batch
    return seen


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_the_first_frame_after_a_shot_cut_is_the_per_frame_result(tmp_path):
    first = [np.hstack([half(40, 60, i), half(104, 60, 50 + i)]) for i in range(6)]
    second = [255 - f for f in first]  # another shot: the same places, other colours
    clip = write_clip(tmp_path / 'cut.mkv', first + second)
    enhancer = enhancer_for(LEFT)
    per_frame = run(clip, enhancer, tmp_path, temporal=False)
    reset = run(clip, enhancer, tmp_path, temporal_settings=TemporalSettings(**HOLD))
    carried = run(clip, enhancer, tmp_path, temporal_settings=TemporalSettings(cut=2, crop_change=1e9, **HOLD))
    assert len(per_frame) == len(reset) == len(carried) == 12
    assert reset[0][1] and not per_frame[0][1]
    for i in (0, 6):  # the first frame, and the first of the new shot: nothing carried
        np.testing.assert_array_equal(reset[i][0].restored_img, per_frame[i][0].restored_img)
    # without the reset the first shot's codes would have been carried over the cut
    assert not np.array_equal(carried[6][0].restored_img, per_frame[6][0].restored_img)


def test_two_faces_keep_their_own_memory(tmp_path):
    """Swapping the right face's content mid-clip leaves the left face's results as they were, byte for byte."""
    steady = [np.hstack([half(40, 60, i), half(104, 60, 50 + i)]) for i in range(10)]
    swapped = [f if i < 5 else np.hstack([f[:, :64], half(150, 120, 90 + i)]) for i, f in enumerate(steady)]
    enhancer = enhancer_for(LEFT, RIGHT, batch_size=4)  # both faces of several frames in one network call
    settings = TemporalSettings(cut=2, **HOLD)
    a = run(write_clip(tmp_path / 'a.mkv', steady), enhancer, tmp_path, temporal_settings=settings)
    b = run(write_clip(tmp_path / 'b.mkv', swapped), enhancer, tmp_path, temporal_settings=settings)
    per_frame = run(tmp_path / 'b.mkv', enhancer, tmp_path, temporal=False)
    assert [f.track_id for f in a[0][3]] == [0, 1] and all(len(x[0].restored_faces) == 2 for x in a + b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x[0].restored_faces[0], y[0].restored_faces[0])
    # the right face starts afresh when its crop changes: the first swapped frame is its per-frame result
    np.testing.assert_array_equal(b[5][0].restored_faces[1], per_frame[5][0].restored_faces[1])
    assert not np.array_equal(a[5][0].restored_faces[1], b[5][0].restored_faces[1])


def test_off_is_the_per_frame_result_byte_for_byte(tmp_path):
    frames = [np.hstack([half(40 + i, 60, i), half(104, 60 + i, 50 + i)]) for i in range(8)]
    clip = write_clip(tmp_path / 'glide.mkv', frames)
    enhancer = enhancer_for(LEFT, RIGHT)
    off = run(clip, enhancer, tmp_path, temporal=False)
    assert len(off) == 8 and not any(handed for _, handed, _, _ in off)
    for result, _, image, faces in off:
        alone = enhancer.enhance_batch([image], faces=[faces])[0]
        np.testing.assert_array_equal(result.restored_img, alone.restored_img)
    on = run(clip, enhancer, tmp_path)
    assert len(on) == 8 and all(handed for _, handed, _, _ in on)


def test_codes_are_kept_unless_the_new_ones_win_by_the_margin():
    previous = torch.tensor([0, 1])
    memory = torch.log_softmax(torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]), -1)
    logits = torch.tensor([[0.0, 2.5, 0.0], [0.0, 0.0, 9.0]])  # position 0: a slight lead, position 1: a clear one
    _, codes = pick_codes(logits, memory, previous, alpha=0.5, margin=1.0)
    assert codes.tolist() == [0, 2]
    _, fresh = pick_codes(logits, None, None, alpha=0.5, margin=1.0)
    assert fresh.tolist() == logits.argmax(-1).tolist()


def test_memory_holds_only_the_tracks_on_screen():
    states = TemporalStates()
    image = np.zeros((64, 64, 3), np.uint8)
    faces = [type('F', (), {'track_id': i})() for i in range(3)]
    assert len(states.frame(image, faces)) == 3 and len(states.tracks) == 3
    steps = states.frame(image, faces[1:] + [object()])  # track 0 lost, a face without a track
    assert set(states.tracks) == {1, 2} and steps[-1] is None


def test_the_command_line_switch():
    parser = restore_parser()
    assert parser.parse_args([]).temporal is True
    assert parser.parse_args(['--temporal', 'off']).temporal is False
    with pytest.raises(SystemExit):
        parser.parse_args(['--temporal', 'sometimes'])

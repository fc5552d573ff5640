"""Videos through the real command line: clips written here with PyAV (a face moving across the frame, a sine tone),
checked for frame count, timing, audio, orientation, bad inputs, Ctrl-C and resuming."""
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from codeformer.detection import build_detector
from codeformer.detection.common import DetectedFace
from codeformer.enhancer import FaceEnhancer
from codeformer.restorer import FaceRestorer
from codeformer.video.io import VideoError, VideoReader
from codeformer.video.loop import VideoOptions, restore_video
from tests.support.cli import ROOT, run_script
from tests.support.nets import small_codeformer

SCENE = ROOT / 'inputs' / 'whole_imgs' / 'astronaut.jpg'
ENV = {'OMP_NUM_THREADS': '1'}  # tiny clips: one thread per process is faster on a busy 2-core machine


def restore(*args, checkpoint, cwd=None, timeout=300):
    return run_script('inference_codeformer.py', *args, '--model_path', str(checkpoint), '--detection_model',
                      'mtcnn', '--no_parse', '--device', 'cpu', cwd=cwd, env=ENV, timeout=timeout)


def scene_frame(i: int, n: int, size: int) -> np.ndarray:
    """Frame ``i`` of ``n``: a window gliding over the astronaut photo (her face ~25 px wide), so the face moves."""
    scene = scene_frame.cache.get(size)
    if scene is None:
        scene = scene_frame.cache[size] = cv2.resize(cv2.imread(str(SCENE)), (2 * size, 2 * size),
                                                     interpolation=cv2.INTER_AREA)
    t = i / max(1, n - 1)
    x, y = round(size * (0.25 + 0.3 * t)), round(size * (0.08 + 0.08 * np.sin(np.pi * t)))
    return np.ascontiguousarray(scene[y:y + size, x:x + size])


scene_frame.cache = {}


def make_clip(path, frames=20, fps=25, size=128, audio='aac', container=None, vcodec='libx264', times_ms=None,
              rotation=None, sample_rate=16000):
    """A clip with a moving face and a 440 Hz tone. ``times_ms``: variable frame timing (milliseconds per frame);
    ``rotation``: display-matrix rotation (degrees counter-clockwise), frames stored turned the other way."""
    out = av.open(str(path), 'w', format=container)
    v = out.add_stream(vcodec, rate=fps)
    upright = [scene_frame(i, frames, size) for i in range(frames)]
    stored = [cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) if rotation == -90 else f for f in upright]
    v.height, v.width = stored[0].shape[:2]
    v.pix_fmt = 'yuvj420p' if vcodec == 'mjpeg' else 'yuv420p'
    if times_ms is not None:
        v.codec_context.time_base = Fraction(1, 1000)
    if rotation is not None:
        v.set_display_rotation(rotation)
    a = None
    if audio:
        a = out.add_stream(audio, rate=sample_rate, layout='mono')
    end = times_ms[-1] + 40 if times_ms is not None else None
    total = int(sample_rate * (end / 1000 if end else frames / fps))
    sent = 0
    for i, img in enumerate(stored):
        frame = av.VideoFrame.from_ndarray(img, format='bgr24')
        frame.pts = times_ms[i] if times_ms is not None else i
        for p in v.encode(frame):
            out.mux(p)
        if a is not None:
            upto = total * (i + 1) // frames
            tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(sent, upto) / sample_rate)
            samples = tone.astype(np.float32)[None] if audio == 'aac' else (tone * 32767).astype(np.int16)[None]
            af = av.AudioFrame.from_ndarray(samples, format='fltp' if audio == 'aac' else 's16', layout='mono')
            af.sample_rate, af.pts, af.time_base = sample_rate, sent, Fraction(1, sample_rate)
            sent = upto
            for p in a.encode(af):
                out.mux(p)
    for stream in ([a] if a is not None else []) + [v]:
        for p in stream.encode(None):
            out.mux(p)
    out.close()
    return path


def describe(path) -> dict:
    """What a user's player would show: frames, their times, durations, audio, codec and picture size."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        d = {'codec': v.codec_context.name, 'pix_fmt': v.codec_context.pix_fmt, 'size': (v.width, v.height),
             'video_duration': float(v.duration * v.time_base) if v.duration else None,
             'audio': [(s.codec_context.name, float(s.duration * s.time_base) if s.duration else None)
                       for s in c.streams.audio]}
        frames = list(c.decode(video=0))
        d['times'] = [round(float(f.time), 3) for f in frames]
        d['frames'] = len(frames)
        d['middle'] = frames[len(frames) // 2].to_ndarray(format='bgr24') if frames else None
    if d['video_duration'] is None:  # Matroska: per-stream durations are not stored
        d['video_duration'] = d['times'][-1] + 0.04
    return d


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_clip_keeps_frames_timing_and_audio_and_faces_are_restored(tmp_path, checkpoint):
    clip = make_clip(tmp_path / 'clip.mp4', frames=20)
    proc = restore('-w', '0.7', '-i', 'clip.mp4', '--report', 'report.json', checkpoint=checkpoint, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / 'results' / 'clip_0.7' / 'clip.mp4'
    src, got = describe(clip), describe(out)
    # -s 2 default, of the frame enlarged to a shorter side of 512 first, as the official does with small photos
    assert got['codec'] == 'h264' and got['pix_fmt'] == 'yuv420p' and got['size'] == (1024, 1024)
    assert got['frames'] == src['frames'] == 20 and got['times'] == src['times']
    assert got['video_duration'] == pytest.approx(src['video_duration'], abs=1e-3)
    assert len(got['audio']) == 1 and got['audio'][0][0] == 'aac'  # copied as it was
    assert got['audio'][0][1] == pytest.approx(src['audio'][0][1], abs=1e-3)
    assert [p.name for p in out.parent.iterdir()] == ['clip.mp4']  # no temporary file left behind
    # the faces went through the network: the result is not just the frame enlarged
    plain = cv2.resize(src['middle'], (1024, 1024), interpolation=cv2.INTER_LINEAR)
    assert np.abs(got['middle'].astype(int) - plain).mean() > 1
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report[0]['info']['faces'] == 20 and report[0]['info']['frames_written'] == 20


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_folder_of_images_and_videos_with_bad_ones(tmp_path, checkpoint):
    src = tmp_path / 'in'
    src.mkdir()
    cv2.imwrite(str(src / 'photo.png'), scene_frame(0, 1, 128))
    # variable frame rate, PCM audio (which MP4 players do not take: re-encoded to AAC), Matroska
    vfr = [0, 40, 80, 200, 240, 400, 440, 480, 700, 740]
    make_clip(src / 'vfr.MKV', frames=len(vfr), times_ms=vfr, audio='pcm_s16le', container='matroska')
    # Motion-JPEG in AVI, an odd size (H.264 4:2:0 needs even ones), one frame destroyed: decodes with a gap
    make_clip(src / 'damaged.avi', frames=10, vcodec='mjpeg', audio=None, size=95)
    data = bytearray((src / 'damaged.avi').read_bytes())
    starts = [i for i in range(len(data) - 3) if data[i:i + 3] == b'\xff\xd8\xff']
    data[starts[4]:starts[5] - 16] = bytes(starts[5] - 16 - starts[4])
    (src / 'damaged.avi').write_bytes(bytes(data))
    # an MP4 with sound only, and a file that only starts like an MP4
    make_clip(tmp_path / 'tmp.mp4', frames=5)
    with av.open(str(tmp_path / 'tmp.mp4')) as c, av.open(str(src / 'sound.mp4'), 'w') as o:
        stream = o.add_stream_from_template(c.streams.audio[0])
        for p in c.demux(c.streams.audio[0]):
            if p.size:
                p.stream = stream
                o.mux(p)
    (src / 'broken.mp4').write_bytes(b'\x00\x00\x00\x18ftypmp42' + os.urandom(2000))
    out = tmp_path / 'out'
    proc = restore('-i', str(src), '-o', str(out), '-s', '1', '--report', str(tmp_path / 'r.json'),
                   checkpoint=checkpoint)
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 2, proc.stderr
    assert any('broken.mp4' in e and 'cannot open' in e for e in errors)
    assert any('sound.mp4' in e and 'no video stream' in e for e in errors)
    warnings = [line for line in proc.stderr.splitlines() if line.startswith('warning:')]
    assert len(warnings) == 1 and 'damaged.avi' in warnings[0] and 'frame 4' in warnings[0]
    assert (out / 'final_results' / 'photo.png').exists()  # the image went through the image pipeline
    # variable frame rate: every frame at its own time, the audio re-encoded and as long as the input's
    got, src_vfr = describe(out / 'vfr.mp4'), describe(src / 'vfr.MKV')
    assert got['times'] == [t / 1000 for t in vfr] == src_vfr['times']
    assert got['video_duration'] == pytest.approx(0.78, abs=1e-3)
    assert got['audio'][0][0] == 'aac' and got['audio'][0][1] == pytest.approx(0.78, abs=0.03)
    # the damaged frame is left out; the ones after it keep their time
    damaged = describe(out / 'damaged.mp4')
    assert damaged['frames'] == 9 and damaged['times'] == [0.0, 0.04, 0.08, 0.12, 0.2, 0.24, 0.28, 0.32, 0.36]
    assert damaged['size'] == (512, 512)  # 95 px enlarged to the official's 512
    records = {os.path.basename(r['input']): r for r in json.loads((tmp_path / 'r.json').read_text())}
    assert set(records) == {'photo.png', 'vfr.MKV', 'damaged.avi', 'sound.mp4', 'broken.mp4'}
    assert records['damaged.avi']['info']['frames_undecodable'] == 1 and 'error' in records['broken.mp4']


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_rotation_frame_rate_and_frames_as_pngs(tmp_path, checkpoint):
    clip = make_clip(tmp_path / 'phone.mp4', frames=12, size=96, rotation=-90)  # stored on its side, shown upright
    out = tmp_path / 'out'
    proc = restore('-i', str(clip), '-o', str(out), '-s', '1', '--save_video_fps', '10', '--save_frames',
                   '--detect_every', '3', '--crf', '23', '-q', checkpoint=checkpoint)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ''  # --quiet
    got = describe(out / 'phone.mp4')
    assert got['frames'] == 12 and got['video_duration'] == pytest.approx(1.2, abs=1e-3)  # 12 frames at 10 fps
    assert got['audio'][0][1] == pytest.approx(0.48, abs=1e-3)  # audio untouched: 12 frames at 25 fps
    upright = cv2.resize(scene_frame(6, 12, 96), (512, 512), interpolation=cv2.INTER_LINEAR)
    assert got['size'] == (512, 512)  # enlarged to a shorter side of 512, as the official does
    assert np.abs(got['middle'].astype(int) - upright).mean() < np.abs(
        got['middle'].astype(int) - cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE)).mean() / 2
    finals = sorted(p.name for p in (out / 'final_results').iterdir())
    assert finals == [f'{i:08d}.png' for i in range(12)]  # the official script's names
    assert len(list((out / 'restored_faces').iterdir())) == 12 and (out / 'cropped_faces').is_dir()


@pytest.mark.slow  # a 60-frame clip, interrupted and resumed
def test_ctrl_c_leaves_a_playable_file_and_skip_existing_resumes(tmp_path, checkpoint):
    make_clip(tmp_path / 'long.mp4', frames=60, size=96)
    args = [sys.executable, str(ROOT / 'inference_codeformer.py'), '-i', 'long.mp4', '-s', '1', '--model_path',
            str(checkpoint), '--detection_model', 'mtcnn', '--no_parse', '--device', 'cpu', '-q']
    env = {**os.environ, 'PYTHONPATH': str(ROOT), **ENV}
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = tmp_path / 'results' / 'long_0.5'
    deadline = time.monotonic() + 120
    while not (results / '.long.mp4.part').exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # the temporary file appears with the first restored frame
    proc.send_signal(signal.SIGINT)  # what Ctrl-C in a terminal does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert 'interrupted after' in err and 'long.partial.mp4' in err and 'Traceback' not in err
    partial = describe(results / 'long.partial.mp4')
    assert 0 < partial['frames'] < 60 and partial['codec'] == 'h264'
    assert not (results / 'long.mp4').exists() and not (results / '.long.mp4.part').exists()
    resumed = restore('-i', 'long.mp4', '-s', '1', '--skip_existing', checkpoint=checkpoint, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert describe(results / 'long.mp4')['frames'] == 60
    assert sorted(p.name for p in results.iterdir()) == ['long.mp4']  # the stale partial file is gone
    stamp = (results / 'long.mp4').stat().st_mtime_ns
    again = restore('-i', 'long.mp4', '-s', '1', '--skip_existing', checkpoint=checkpoint, cwd=tmp_path)
    assert again.returncode == 0 and '1 skipped' in again.stderr
    assert (results / 'long.mp4').stat().st_mtime_ns == stamp


def test_sigterm_stops_like_ctrl_c_leaves_no_hidden_file_and_reports_each_video(tmp_path, checkpoint):
    (tmp_path / 'clips').mkdir()
    make_clip(tmp_path / 'clips' / 'long.mp4', frames=60, size=96)
    make_clip(tmp_path / 'clips' / 'next.mp4', frames=5, size=96)
    args = [sys.executable, str(ROOT / 'inference_codeformer.py'), '-i', 'clips', '-s', '1', '--model_path',
            str(checkpoint), '--detection_model', 'mtcnn', '--no_parse', '--device', 'cpu', '--report', 'r.json']
    proc = subprocess.Popen(args, cwd=tmp_path, env={**os.environ, 'PYTHONPATH': str(ROOT), **ENV},
                            stderr=subprocess.PIPE, text=True)
    results = tmp_path / 'results' / 'clips_0.5'
    deadline = time.monotonic() + 120
    while not (results / '.long.mp4.part').exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # what a service manager or `kill` sends
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and 'Traceback' not in err, err
    assert sorted(p.name for p in results.iterdir()) == ['long.partial.mp4']
    assert 0 < describe(results / 'long.partial.mp4')['frames'] < 60
    # the line saying so starts a line of its own, not the end of the progress bar
    assert any(line.startswith('stopped: ') for line in err.split('\n')), err
    # the summary and the report say which video was stopped (with its partial file) and which never started
    assert any(line.startswith('0 done, 0 failed, 1 stopped, 1 not started; ') for line in err.split('\n')), err
    records = json.loads((tmp_path / 'r.json').read_text())
    assert [(Path(r['input']).name, r['status']) for r in records] == [('long.mp4', 'stopped'),
                                                                       ('next.mp4', 'not started')]
    assert records[0]['outputs'] == ['results/clips_0.5/long.partial.mp4']
    assert 'interrupted after' in records[0]['error']
    assert 'outputs' not in records[1] and 'error' not in records[1]


def faststart_copy(src, dst):
    """The same packets in an MP4 whose index comes first, as streaming sites write them (a cut file still opens)."""
    with av.open(str(src)) as i, av.open(str(dst), 'w', format='mp4', options={'movflags': 'faststart'}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for packet in i.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                o.mux(packet)


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_a_truncated_video_is_finished_with_a_warning(tmp_path, checkpoint):
    make_clip(tmp_path / 'whole.mp4', frames=60, size=96)
    faststart_copy(tmp_path / 'whole.mp4', tmp_path / 'cut.mp4')
    data = (tmp_path / 'cut.mp4').read_bytes()
    (tmp_path / 'cut.mp4').write_bytes(data[:len(data) // 2])
    proc = restore('-i', 'cut.mp4', '-s', '1', '--report', 'r.json', checkpoint=checkpoint, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (warning, ) = [line for line in proc.stderr.splitlines() if line.startswith('warning:')]
    frames = describe(tmp_path / 'results' / 'cut_0.5' / 'cut.mp4')['frames']
    assert 0 < frames < 60 and 'cut.mp4' in warning
    assert f'ends after {frames} of the 60 frames it announces' in warning
    assert '1 done, 0 failed, 1 with warnings' in proc.stderr
    (record, ) = json.loads((tmp_path / 'r.json').read_text())
    assert record['warnings'] == [warning.removeprefix('warning: ')] and record['kind'] == 'video'


def test_reader_errors_name_the_file(tmp_path):
    (tmp_path / 'empty.mp4').write_bytes(b'')
    with pytest.raises(VideoError, match='empty.mp4: cannot open'):
        VideoReader(tmp_path / 'empty.mp4')
    proc = run_script('inference_codeformer.py', '--has_aligned', '-i', str(make_clip(tmp_path / 'c.mp4', 3)),
                      cwd=tmp_path)
    assert proc.returncode == 2 and 'error: --has_aligned: ' in proc.stderr and 'leave it out' in proc.stderr


class NoisyDetector:
    """MTCNN with Gaussian noise on every detection: what a shakier detector on a harder video gives."""

    def __init__(self, sigma: float = 1.5):
        self.inner, self.sigma = build_detector('mtcnn'), sigma
        self.rng = np.random.default_rng(0)

    def detect(self, bgr):
        return [DetectedFace(f.box + self.rng.normal(0, self.sigma, 4), f.score,
                             f.landmarks + self.rng.normal(0, self.sigma, (5, 2))) for f in self.inner.detect(bgr)]


@pytest.fixture
def one_thread():
    """Tiny frames: one thread is faster, and far faster when other work shares the two cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_smoothing_steadies_the_faces_the_video_loop_aligns(tmp_path, one_thread):
    """The landmarks the loop hands to alignment, on a clip whose face glides smoothly: measured with and without."""
    clip = make_clip(tmp_path / 'glide.mp4', frames=30, audio=None)
    detector = NoisyDetector()
    enhancer = FaceEnhancer(FaceRestorer(net=small_codeformer(), device='cpu'), upscale=1, detection_model=detector,
                            use_parse=False, progress=False)
    aligned_on, enhance_batch = [], enhancer.enhance_batch

    def spy(images, faces=None, **kwargs):
        aligned_on.extend(f[0].landmarks for f in faces)
        return enhance_batch(images, faces=faces, **kwargs)

    enhancer.enhance_batch = spy
    jitter = {}
    for smooth in (False, True):
        aligned_on.clear()
        detector.rng = np.random.default_rng(0)  # the same noise both times
        info = restore_video(clip, tmp_path / f'{smooth}.mp4', enhancer, VideoOptions(smooth=smooth), name='glide',
                             quiet=True)
        assert info['frames_written'] == len(aligned_on) == 30
        track = np.stack(aligned_on)
        jitter[smooth] = float(np.abs(track[2:] - 2 * track[1:-1] + track[:-2]).mean())
    assert jitter[False] > 5 * jitter[True], jitter


def test_face_upsample_upsamples_every_face_of_every_frame(tmp_path, one_thread):
    """``face_upsample`` in a video, with no background upsampler: each restored face of each frame goes through the
    face upsampler before it is pasted, as in a photo."""
    from tests.support.pipeline_golden import CubicX2

    clip = make_clip(tmp_path / 'clip.mp4', frames=6, audio=None)
    restorer = FaceRestorer(net=small_codeformer(), device='cpu')
    for on in (False, True):
        upsampler = CubicX2()
        enhancer = FaceEnhancer(restorer, upscale=2, detection_model='mtcnn', use_parse=False, face_upsample=on,
                                face_upsampler=upsampler, progress=False)
        info = restore_video(clip, tmp_path / f'{on}.mp4', enhancer, VideoOptions(), name='clip', quiet=True)
        assert info['frames_written'] == 6 and info['faces'] == 6
        size = restorer.size  # the small network's faces
        assert upsampler.calls == ([(size, size, 3)] * 6 if on else [])

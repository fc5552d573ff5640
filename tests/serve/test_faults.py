"""Faults a real server survives: a client gone part way through its upload, an output folder that is read-only or
full, a job that fails on a real bad input, and SIGTERM in the middle of a batch. Each on a real ``codeformer serve``
(a subprocess on 127.0.0.1), each followed by work that succeeds."""
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import cv2
import pytest

from tests.support.serve import start_server, two_faces


def face_bytes(ext: str = '.png') -> bytes:
    return cv2.imencode(ext, two_faces()[:, :512])[1].tobytes()


def private_folder(served) -> Path:
    return next(served.tmp.glob('codeformer-serve-*'))


def poll(condition, what: str, tries: int = 600):
    import time
    for _ in range(tries):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f'never: {what}')


def abandoned_upload(served, path: str, name: str) -> None:
    """Send the head and 1 MB of a 5 MB upload, wait until the server writes it, then close the connection."""
    parts = urlsplit(served.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(f'POST {path}?name={name} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: 5000000\r\n'
                  'Content-Type: application/octet-stream\r\n\r\n'.encode() + bytes(1_000_000))
        poll(lambda: any(private_folder(served).rglob(name)), f'{name} being written')
    # the socket is closed: the client is gone with 4 MB of its upload never sent


def test_a_client_gone_mid_upload_leaves_no_file(server):
    start = len(server.log.read_bytes())
    batch = server.json('POST', '/api/batches')['id']
    for path, name in (('/api/photos', 'gone-photo.png'), (f'/api/batches/{batch}/files', 'gone-file.png'),
                       ('/api/videos', 'gone-video.mp4')):
        abandoned_upload(server, path, name)
        poll(lambda name=name: not any(private_folder(server).rglob(name)), f'{name} removed')
    assert server.json('GET', '/api/info')['version']  # the server goes on
    good = server.json('POST', f'/api/batches/{batch}/files?name=after.png', face_bytes())
    assert good['added'] == ['after.png'] and good['files'] == 1  # the batch itself goes on, without the lost file
    log = server.log.read_bytes()[start:].decode(errors='replace')
    assert 'Traceback' not in log and 'Exception in ASGI application' not in log, log[-3000:]


@contextlib.contextmanager
def small_disk(folder: Path):
    """``folder`` as a tmpfs of 4 MB, where this process may mount one (root with the capability, as here); None
    where it may not."""
    folder.mkdir(parents=True)
    if os.geteuid() != 0 or not shutil.which('mount'):
        yield False
        return
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', str(folder)], capture_output=True)
    if mounted.returncode != 0:
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(['umount', '-l', str(folder)], capture_output=True)


def run_batch(served, name: str) -> dict:
    batch = served.json('POST', '/api/batches')['id']
    served.json('POST', f'/api/batches/{batch}/files?name={name}', face_bytes())
    job = served.json('POST', f'/api/batches/{batch}/start', {'settings': {'upscale': 1}})
    return served.wait_job(job['id'])


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_a_read_only_or_full_output_folder_fails_the_job_clearly_and_the_server_goes_on(checkpoint, tmp_path):
    out = tmp_path / 'out'
    with small_disk(out) as tmpfs:
        served = start_server(checkpoint, tmp_path / 'srv', '--output_dir', str(out))
        try:
            # read-only: a read-only mount where one can be made (root is not stopped by file modes), else the mode;
            # as root without mounts, a file where the results' folder goes makes every write there fail as well
            if tmpfs:
                subprocess.run(['mount', '-o', 'remount,ro', str(out)], check=True)
                reason = 'Read-only file system'
            elif os.geteuid() != 0:
                out.chmod(0o555)
                reason = 'Permission denied'
            else:
                (out / 'final_results').write_bytes(b'in the way')
                reason = 'File exists'
            failed = run_batch(served, 'first.png')
            assert failed['state'] == 'failed', failed
            assert failed['message'].startswith(f'cannot keep the results in {out.resolve()}: {reason} (make room')
            assert '\n' not in failed['message']
            # the results are still in the job's zip; the server answers, and a photo still restores
            zipped = served.request('GET', f'/api/jobs/{failed["id"]}/results.zip')
            assert zipped[0] == 200 and 'final_results/first.png' in zipfile.ZipFile(io.BytesIO(zipped[2])).namelist()
            photo = served.json('POST', '/api/photos?name=p.png&detector=mtcnn', face_bytes())
            served.json('POST', f'/api/photos/{photo["id"]}/restore', {'faces': [0]})
            poll(lambda: 'warning: cannot keep the results in' in served.log.read_text(errors='replace'),
                 'the photo\'s result refused in the log')
            # writable again: the next job keeps its results
            if tmpfs:
                subprocess.run(['mount', '-o', 'remount,rw', str(out)], check=True)
            elif os.geteuid() != 0:
                out.chmod(0o755)
            else:
                (out / 'final_results').unlink()
            assert run_batch(served, 'second.png')['state'] == 'done'
            assert (out / 'final_results' / 'second.png').is_file()
            if tmpfs:  # full: the same, with the disk full
                with open(out / 'filler', 'wb') as f, contextlib.suppress(OSError):
                    while True:
                        f.write(bytes(1 << 16))
                        f.flush()
                full = run_batch(served, 'third.png')
                assert full['state'] == 'failed' and 'No space left on device' in full['message'], full
                assert not (out / 'final_results' / 'third.png').exists()  # no half-written file left listed
                (out / 'filler').unlink()
                assert run_batch(served, 'fourth.png')['state'] == 'done'
                assert cv2.imread(str(out / 'final_results' / 'fourth.png')) is not None
            names = [g['name'] for g in served.json('GET', '/api/gallery')]
            assert 'final_results/second.png' in names and 'final_results/first.png' not in names
        finally:
            served.stop()
    log = served.log.read_text(errors='replace')
    assert 'Traceback' not in log, log[-3000:]


def ts_clip(path: Path, frames: int, width: int, height: int) -> bytes:
    """An MPEG-TS clip of the moving face, ``width`` x ``height``."""
    import av

    from tests.video.test_loop import scene_frame
    with av.open(str(path), 'w', format='mpegts') as out:
        stream = out.add_stream('libx264', rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        for i in range(frames):
            image = cv2.resize(scene_frame(i, frames, 128), (width, height), interpolation=cv2.INTER_AREA)
            frame = av.VideoFrame.from_ndarray(image, format='bgr24')
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()


def spliced_video(path: Path) -> Path:
    """Two MPEG-TS clips, square then wide, one after the other (as a cut-and-paste of broadcast files): the file
    opens and is measured as the first, and the picture changes its shape half way, which no single output video
    can hold."""
    path.write_bytes(ts_clip(path.with_name('a.ts'), 10, 128, 128) + ts_clip(path.with_name('b.ts'), 10, 128, 64))
    return path


def test_a_job_that_fails_on_a_real_bad_input_fails_alone(server, tmp_path):
    from tests.video.test_loop import make_clip
    bad = server.json('POST', '/api/videos?name=spliced.ts', spliced_video(tmp_path / 'spliced.ts').read_bytes())
    assert (bad['width'], bad['height']) == (128, 128)  # it passes the upload's checks
    good = server.json('POST', '/api/videos?name=fine.mp4',
                       make_clip(tmp_path / 'fine.mp4', frames=8, size=128, audio=None).read_bytes())
    failing = server.json('POST', f'/api/videos/{bad["id"]}/start', {'settings': {'upscale': 1}})
    after = server.json('POST', f'/api/videos/{good["id"]}/start', {'settings': {'upscale': 1}})
    failed = server.wait_job(failing['id'])
    assert failed['state'] == 'failed' and 'frame size changed from' in failed['message'], failed
    assert '\n' not in failed['message'] and str(server.tmp) not in failed['message']
    done = server.wait_job(after['id'])
    assert done['state'] == 'done' and done['download'], done  # the next job is done
    # a photo whose header is fine and whose pixels are not: that request fails, the next one is served
    broken = bytearray(face_bytes())
    broken[len(broken) // 2:len(broken) // 2 + 64] = bytes(64)
    status, _, body = server.request('POST', '/api/photos?name=broken.png&detector=mtcnn', bytes(broken))
    assert status == 400 and json.loads(body)['error'] == 'broken.png: cannot decode image (corrupt or unsupported ' \
                                                          'format)'
    assert len(server.json('POST', '/api/photos?name=whole.png&detector=mtcnn', face_bytes())['faces']) == 1


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_sigterm_mid_batch_keeps_every_finished_result_listed_after_a_restart(checkpoint, tmp_path):
    out = tmp_path / 'out'
    served = start_server(checkpoint, tmp_path / 'first', '--output_dir', str(out), '--batch_size', '1')
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w') as z:
        for i in range(30):
            z.writestr(f'face{i:02d}.jpg', face_bytes('.jpg'))
    try:
        batch = served.json('POST', '/api/batches')['id']
        assert served.json('POST', f'/api/batches/{batch}/files?name=faces.zip', archive.getvalue())['files'] == 30
        job = served.json('POST', f'/api/batches/{batch}/start', {'settings': {'upscale': 1}})
        seen = {}

        def two_done():
            seen.update(served.json('GET', f'/api/jobs/{job["id"]}'))
            return seen['done'] >= 2

        poll(two_done, 'two files done')
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=60) == 143  # SIGTERM's code, as for every command
    finally:
        served.stop()
    assert served.log.read_text().splitlines()[-1] == ('stopped: the server stopped; its uploads were removed, the '
                                                       f'results stay in {out.resolve()}')
    kept = sorted(p.name for p in (out / 'final_results').iterdir())
    assert seen['done'] <= len(kept) < 30, kept  # every file finished before the signal, and it stopped part way
    for name in kept:
        assert cv2.imread(str(out / 'final_results' / name)) is not None  # whole files only
        assert (out / 'restored_faces' / f'{Path(name).stem}_00.png').is_file()
    assert not list(out.rglob('.*.tmp'))
    again = start_server(checkpoint, tmp_path / 'second', '--output_dir', str(out))
    try:
        listed = sorted(g['name'] for g in again.json('GET', '/api/gallery'))
    finally:
        again.stop()
    assert listed == [f'final_results/{name}' for name in kept]

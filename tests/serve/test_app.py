"""The server's API through real HTTP on 127.0.0.1: one photo (detect, w for all and per face, ticked faces,
visibility, the PNG against the batch tool's), bad uploads, batches and videos, and a clean stop."""
import io
import json
import socket
import zipfile
from pathlib import Path
from urllib.parse import quote

import cv2
import numpy as np

from codeformer.utils.image_io import write_image
from codeformer.utils.pngtext import read_texts, without_text
from tests.support.cli import run_script
from tests.support.serve import SERVE_OPTIONS, start_server, two_faces


def upload_photo(server, path, name=None):
    return server.json('POST', f'/api/photos?name={quote(name or path.name)}&detector=mtcnn', path.read_bytes())


def restore(server, photo, expect=200, **body):
    return server.json('POST', f'/api/photos/{photo["id"]}/restore', body, expect=expect)


def result_png(server, photo, version):
    status, headers, data = server.request('GET', f'/api/photos/{photo["id"]}/result.png?v={version}&download=1')
    assert status == 200 and headers['Content-Type'] == 'image/png'
    return data, headers


def decode(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)


def test_photo_equals_the_batch_tools_result(server, photo_file, cli_result):
    photo = upload_photo(server, photo_file)
    assert photo['name'] == 'two faces.png' and (photo['width'], photo['height']) == (1024, 512)
    assert len(photo['faces']) == 2 and all(80 < f['size'] < 140 for f in photo['faces'])
    r = restore(server, photo, settings={'w': 0.3}, faces=[0, 1])
    assert r['restored'] == [0, 1] and (r['width'], r['height']) == (2048, 1024) and r['network_faces'] == 2
    png, headers = result_png(server, photo, r['version'])
    assert 'two%20faces_restored.png' in headers['Content-Disposition']
    # the file is the batch tool's, byte for byte, plus one text chunk with the parameters (as A1111's infotext)
    assert without_text(png) == cli_result
    text = read_texts(png)['parameters']
    assert 'w: 0.3' in text and 'faces: 1, 2 of 2' in text and 'source: two faces.png' in text
    assert 'same as: codeformer restore -w 0.3 -s 2 --detection_model mtcnn --no_parse' in text


def test_per_face_w_ticked_faces_and_visibility(server, photo_file):
    photo = upload_photo(server, photo_file)
    boxes = [f['box'] for f in photo['faces']]
    base = restore(server, photo, settings={'w': 0.0}, faces=[0, 1])
    both = decode(result_png(server, photo, base['version'])[0])
    # face 2 gets its own w: only that face goes through the network again, only its region changes
    own = restore(server, photo, settings={'w': 0.0}, faces=[0, 1], face_w={'1': 1.0})
    assert own['network_faces'] == 1
    png, _ = result_png(server, photo, own['version'])
    assert 'face 2 w: 1' in read_texts(png)['parameters'] and 'same as' not in read_texts(png)['parameters']
    changed = np.abs(decode(png).astype(int) - both).max(axis=2) > 0
    inside = region(changed.shape, boxes[1])
    assert changed[inside].any() and not changed[~inside].any()
    # face 2 unticked: its region is the plain enlarged photo, face 1 unchanged; no network at all (cached)
    one = restore(server, photo, settings={'w': 0.0}, faces=[0])
    assert one['network_faces'] == 0 and one['restored'] == [0]
    only = decode(result_png(server, photo, one['version'])[0])
    plain = cv2.resize(two_faces(), (2048, 1024), interpolation=cv2.INTER_LINEAR)
    inside2 = region(only.shape[:2], boxes[1], margin=0.6)
    assert np.abs(only[inside2].astype(int) - plain[inside2]).max() <= 1
    assert (only[region(only.shape[:2], boxes[0])] == both[region(only.shape[:2], boxes[0])]).all()
    # visibility 0 gives the enlarged photo; 0.5 lies between
    zero = restore(server, photo, settings={'w': 0.0, 'visibility': 0}, faces=[0, 1])
    assert zero['network_faces'] == 0
    assert np.abs(decode(result_png(server, photo, zero['version'])[0]).astype(int) - plain).max() <= 1
    half = restore(server, photo, settings={'w': 0.0, 'visibility': 0.5}, faces=[0, 1])
    mid = decode(result_png(server, photo, half['version'])[0]).astype(int)
    assert np.abs(mid - (both.astype(int) + plain) / 2).max() <= 1.5
    # an older version is gone; the per-face images of the latest are there
    assert server.request('GET', f'/api/photos/{photo["id"]}/result.png?v={base["version"]}')[0] == 404
    status, _, face = server.request('GET', f'/api/photos/{photo["id"]}/faces/1/restored.png?v={half["version"]}')
    assert status == 200 and decode(face).shape == (64, 64, 3)  # the small network's size


def region(shape, box, margin=0.0):
    """A mask of ``box`` (input pixels) in a result at 2x, grown by ``margin`` of its size on each side."""
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    mask = np.zeros(shape[:2], bool)
    mask[max(0, int(2 * (y0 - my))):int(2 * (y1 + my)), max(0, int(2 * (x0 - mx))):int(2 * (x1 + mx))] = True
    if margin == 0.0:  # the whole pasted square around the face: generously
        return region(shape, box, margin=1.0)
    return mask


def test_bad_requests_are_one_line_errors(server, tmp_path):
    def error(method, path, body=None, expect=400):
        status, _, data = server.request(method, path, body)
        assert status == expect, (status, data)
        message = json.loads(data)['error']
        assert '\n' not in message and str(server.tmp) not in message  # never a private path
        return message

    assert error('POST', '/api/photos?name=../../etc/broken.jpg', b'\xff\xd8\xff\xe0garbage').startswith(
        'broken.jpg: cannot decode image')
    bomb = b'\xff\xd8\xff\xc0\x00\x11\x08' + (30000).to_bytes(2, 'big') * 2 + b'\x03' + bytes(9) + b'\xff\xd9'
    assert 'over the limit' in error('POST', '/api/photos?name=bomb.jpg', bomb)
    assert 'big.png: 21.0 MB is over the upload limit of 20 MB' in declared_too_large(server, 21_000_000)
    assert error('POST', '/api/photos?name=empty.png', b'') == 'empty.png: empty file'
    photo = upload_photo(server, write_face(tmp_path / 'face.png'))
    assert error('POST', f'/api/photos/{photo["id"]}/restore', {'settings': {'w': 2}}) == (
        'w: must be in [0, 1], got 2.0')
    assert 'w of face 1: must be in [0, 1], got -1.0' in error('POST', f'/api/photos/{photo["id"]}/restore',
                                                     {'faces': [0], 'face_w': {'0': -1}})
    assert 'no such face' in error('POST', f'/api/photos/{photo["id"]}/restore', {'faces': [5]})
    assert 'unknown detector' in error('POST', f'/api/photos/{photo["id"]}/detect?detector=nope')
    assert 'upscale: not a whole number: 1.5' in error('POST', f'/api/photos/{photo["id"]}/restore',
                                                     {'settings': {'upscale': 1.5}})
    assert error('GET', '/api/photos/../../etc/passwd/original.png', expect=404)
    assert error('GET', '/api/photos/0123456789abcdef/original.png', expect=404)
    assert server.request('GET', '/static/../app.py')[0] == 404
    assert error('GET', '/api/jobs/zzz', expect=404)
    # nothing of the refused uploads stays in the private folder
    private = next(server.tmp.glob('codeformer-serve-*'))
    names = [p.name for p in private.rglob('*') if p.is_file()]
    assert not any(n in names for n in ('broken.jpg', 'bomb.jpg', 'big.png', 'empty.png'))


def declared_too_large(server, size: int) -> str:
    """The answer to an upload that declares ``size`` bytes: refused before any byte of it is read."""
    host, port = server.url.split('//')[1].rstrip('/').split(':')
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f'POST /api/photos?name=big.png HTTP/1.1\r\nHost: {host}\r\nContent-Length: {size}\r\n'
                  f'Content-Type: application/octet-stream\r\n\r\n'.encode())
        answer = b''
        while b'}' not in answer:
            block = s.recv(4096)
            if not block:
                break
            answer += block
    head, _, body = answer.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 413'), head
    return json.loads(body)['error']


def write_face(path):
    """A photo of one face whose bytes differ by file name (three corner pixels): the gallery takes the same bytes
    with the same settings for the same result, and the server is shared by every test of the package."""
    import hashlib
    image = two_faces()[:, :512].copy()
    image[0, :3, 0] = list(hashlib.sha256(Path(path).name.encode()).digest()[:3])
    write_image(path, image)
    return path


def test_batch_zip_report_and_a_bad_file(server, tmp_path, checkpoint):
    good = write_face(tmp_path / 'good.png')
    batch = server.json('POST', '/api/batches')['id']
    added = server.json('POST', f'/api/batches/{batch}/files?name=good.png', good.read_bytes())
    assert added['added'] == ['good.png']
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w') as z:
        z.writestr('sub/broken.jpg', b'\xff\xd8\xff\xe0garbage')
        z.writestr('../../escape.png', good.read_bytes())
        z.writestr('.hidden.png', good.read_bytes())
    added = server.json('POST', f'/api/batches/{batch}/files?name=more.zip', archive.getvalue())
    assert added['added'] == ['broken.jpg', 'escape.png'] and added['files'] == 3
    job = server.json('POST', f'/api/batches/{batch}/start', {'settings': {'w': 0.7}})
    assert job['kind'] == 'batch' and job['total'] == 3
    assert server.request('POST', f'/api/batches/{batch}/files?name=late.png', good.read_bytes())[0] == 404
    done = server.wait_job(job['id'])
    assert done['state'] == 'done' and done['done'] == 3 and done['message'] == '2 done, 1 failed'
    assert len(done['errors']) == 1 and done['errors'][0].startswith('broken.jpg: cannot decode image')
    status, headers, data = server.request('GET', f'/api/jobs/{job["id"]}/results.zip')
    assert status == 200 and headers['Content-Type'] == 'application/zip'
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        assert {'final_results/good.png', 'final_results/escape.png', 'report.json'} <= names
        assert 'cropped_faces/good_00.png' in names and 'restored_faces/good_00.png' in names
        report = json.loads(z.read('report.json'))
        final = z.read('final_results/good.png')
    assert [r['input'] for r in report] == ['good.png', 'broken.jpg', 'escape.png']
    assert report[1]['error'].startswith('broken.jpg: cannot decode') and report[0]['info']['faces'] == 1
    # the same as the batch tool's
    out = tmp_path / 'cli'
    proc = run_script('inference_codeformer.py', '-w', '0.7', '-i', str(good), '-o', str(out), '--model_path',
                      str(checkpoint), *SERVE_OPTIONS, '-q', env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr
    assert final == (out / 'final_results' / 'good.png').read_bytes()
    assert json.loads(server.request('GET', f'/api/jobs/{job["id"]}/report.json')[2]) == report


def test_stopped_batch_keeps_complete_results(server, tmp_path):
    good = write_face(tmp_path / 'face.png').read_bytes()
    blocker = server.json('POST', '/api/batches')['id']
    for i in range(4):
        server.json('POST', f'/api/batches/{blocker}/files?name=a{i}.png', good)
    waiting = server.json('POST', '/api/batches')['id']
    server.json('POST', f'/api/batches/{waiting}/files?name=b.png', good)
    first = server.json('POST', f'/api/batches/{blocker}/start', {})
    second = server.json('POST', f'/api/batches/{waiting}/start', {})
    assert second['state'] == 'queued' and second['position'] >= 1  # one job at a time, the queue visible
    stopped = server.json('POST', f'/api/jobs/{second["id"]}/stop')
    assert stopped['state'] == 'stopped' and stopped['message'] == 'stopped before it started'
    server.json('POST', f'/api/jobs/{first["id"]}/stop')
    done = server.wait_job(first['id'])
    assert done['state'] == 'stopped' and done['done'] < 4
    with zipfile.ZipFile(io.BytesIO(server.request('GET', f'/api/jobs/{first["id"]}/results.zip')[2])) as z:
        report = json.loads(z.read('report.json'))
        for name in z.namelist():
            if name.endswith('.png'):
                assert decode(z.read(name)) is not None
    assert len(report) == 4


def test_video_preview_and_job(server, tmp_path):
    from tests.video.test_loop import make_clip
    clip = tmp_path / 'clip.mp4'
    make_clip(clip, frames=12, size=128)
    video = server.json('POST', '/api/videos?name=clip.mp4', clip.read_bytes())
    assert video['frames'] == 12 and (video['width'], video['height']) == (128, 128)
    preview = server.json('POST', f'/api/videos/{video["id"]}/preview', {'index': 6, 'settings': {'w': 0.5}})
    assert preview['index'] == 6 and preview['faces'] == 1 and (preview['width'], preview['height']) == (1024, 1024)
    before = decode(server.request('GET', f'/api/videos/{video["id"]}/preview/before.png')[2])
    after = decode(server.request('GET', f'/api/videos/{video["id"]}/preview/after.png')[2])
    assert before.shape == after.shape == (1024, 1024, 3) and np.abs(before.astype(int) - after).mean() > 0.1
    frame = decode(server.request('GET', f'/api/videos/{video["id"]}/frame.png?index=6')[2])
    assert frame.shape == (128, 128, 3)
    job = server.json('POST', f'/api/videos/{video["id"]}/start', {'settings': {'w': 0.5, 'upscale': 1}})
    done = server.wait_job(job['id'])
    assert done['state'] == 'done' and done['download'] and not done['partial'], done
    status, headers, data = server.request('GET', f'/api/jobs/{job["id"]}/video.mp4')
    assert status == 200 and 'clip.mp4' in headers['Content-Disposition']
    (tmp_path / 'out.mp4').write_bytes(data)
    import av
    with av.open(str(tmp_path / 'out.mp4')) as c:
        assert sum(1 for _ in c.decode(video=0)) == 12
    bad = server.request('POST', '/api/videos?name=notes.mp4', b'not a video at all')
    assert bad[0] == 400 and json.loads(bad[2])['error'].startswith('notes.mp4: cannot open as a video')


def test_video_stop_keeps_a_playable_partial(server, tmp_path):
    from tests.video.test_loop import make_clip
    clip = tmp_path / 'long.mp4'
    make_clip(clip, frames=150, size=128, audio=None)
    video = server.json('POST', '/api/videos?name=long.mp4', clip.read_bytes())
    job = server.json('POST', f'/api/videos/{video["id"]}/start', {'settings': {'upscale': 1}})
    for _ in range(300):
        if server.json('GET', f'/api/jobs/{job["id"]}')['done'] >= 8:
            break
        import time
        time.sleep(0.05)
    server.json('POST', f'/api/jobs/{job["id"]}/stop')
    done = server.wait_job(job['id'])
    assert done['state'] == 'stopped' and done['partial'] and done['download'], done
    listed = json.dumps(server.json('GET', '/api/jobs'))
    assert str(server.tmp) not in done['message'] and str(server.tmp) not in listed  # no private path
    assert 'long.partial.mp4' in done['message'], done['message']
    status, headers, data = server.request('GET', f'/api/jobs/{job["id"]}/video.mp4')
    assert status == 200 and 'long.partial.mp4' in headers['Content-Disposition']
    (tmp_path / 'partial.mp4').write_bytes(data)
    import av
    with av.open(str(tmp_path / 'partial.mp4')) as c:
        assert 0 < sum(1 for _ in c.decode(video=0)) < 150


def test_stopping_removes_the_private_folder(checkpoint, tmp_path, photo_file):
    served = start_server(checkpoint, tmp_path / 'tmp', '-q')
    assert served.url.startswith('http://127.0.0.1:')  # bound to this computer only by default
    upload_photo(served, photo_file)
    private = list(served.tmp.glob('codeformer-serve-*'))
    assert len(private) == 1 and any(p.is_file() for p in private[0].rglob('*'))
    assert (private[0].stat().st_mode & 0o777) == 0o700
    assert served.stop() == 130  # Ctrl-C, as for every command
    assert 'POST /api/photos' not in served.log.read_text()  # -q: no request log
    assert not private[0].exists()
    assert served.log.read_text().splitlines()[-1] == ('stopped: the server stopped; its uploads were removed, the '
                                                       f'results stay in {served.results.resolve()}')


def test_requests_are_logged(server):
    server.json('GET', '/api/info')
    assert '"GET /api/info HTTP/1.1" 200' in server.log.read_text(errors='replace')


def test_batch_refuses_what_is_not_an_image_at_once(server, tmp_path):
    good = write_face(tmp_path / 'good.png').read_bytes()
    batch = server.json('POST', '/api/batches')['id']
    refused = server.json('POST', f'/api/batches/{batch}/files?name=notes.txt', b'just some words', expect=400)
    assert refused['error'] == 'notes.txt: not an image (a batch takes photos, or zips of them)'
    huge = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR' + (30000).to_bytes(4, 'big') * 2 + bytes(5)
    assert 'over the limit' in server.json('POST', f'/api/batches/{batch}/files?name=huge.png', huge,
                                           expect=400)['error']
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w') as z:
        z.writestr('a.png', good)
        z.writestr('readme.txt', b'hello')
        z.writestr('huge.png', huge)
    added = server.json('POST', f'/api/batches/{batch}/files?name=mixed.zip', archive.getvalue())
    assert added['added'] == ['a.png'] and added['files'] == 1
    assert [r.split(':')[0] for r in added['refused']] == ['readme.txt', 'huge.png']
    job = server.json('POST', f'/api/batches/{batch}/start', {})
    assert server.wait_job(job['id'])['message'] == '1 done, 0 failed'
    headers = server.request('GET', f'/api/jobs/{job["id"]}/results.zip')[1]
    assert 'codeformer_results_1_file.zip' in headers['Content-Disposition']


def test_jobs_belong_to_the_tab_that_started_them(server, tmp_path):
    good = write_face(tmp_path / 'good.png').read_bytes()
    mine, other = {'X-Codeformer-Client': 'tab-one'}, {'X-Codeformer-Client': 'tab-two'}
    batch = server.json('POST', '/api/batches')['id']
    server.json('POST', f'/api/batches/{batch}/files?name=good.png', good)
    job = server.json('POST', f'/api/batches/{batch}/start', {}, headers=mine)
    assert job['id'] in [j['id'] for j in server.json('GET', '/api/jobs', headers=mine)]
    assert job['id'] not in [j['id'] for j in server.json('GET', '/api/jobs', headers=other)]
    server.wait_job(job['id'])
    cleared = server.json('POST', '/api/jobs/clear', headers=mine)
    assert cleared == {'cleared': 1}
    assert server.json('GET', '/api/jobs', headers=mine) == []
    assert server.request('GET', f'/api/jobs/{job["id"]}')[0] == 404


def test_a_newer_restore_replaces_a_queued_older_one(server, photo_file):
    import threading
    photo = upload_photo(server, photo_file)
    answers = []

    def ask(w):
        answers.append(server.request('POST', f'/api/photos/{photo["id"]}/restore',
                                      {'settings': {'w': w}, 'faces': [0, 1]}))
    threads = [threading.Thread(target=ask, args=(w,)) for w in (0.11, 0.12, 0.13, 0.14, 0.15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [json.loads(body) for status, _, body in answers if status == 200]
    replaced = [json.loads(body)['error'] for status, _, body in answers if status == 409]
    assert 1 <= len(done) <= 2 and len(done) + len(replaced) == 5
    assert sum(d['network_faces'] for d in done) <= 4  # two faces, the network run at most twice
    assert set(replaced) == {'replaced by a newer request for the same photo'}


def wait_for(condition, timeout: float = 30):
    import time
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, 'waited too long'
        time.sleep(0.1)


def test_results_stay_in_the_output_folder(server, tmp_path):
    face = write_face(tmp_path / 'kept.png')
    other = tmp_path / 'other' / 'kept.png'  # another file by the same name (the same file is the same entry)
    other.parent.mkdir()
    write_image(other, two_faces()[:, 512:])
    first, second = upload_photo(server, face), upload_photo(server, other)
    restore(server, first, faces=[0])
    restore(server, second, faces=[0])
    restore(server, second, faces=[0], settings={'w': 0.9})  # the same photo again: its own file, updated
    final = server.results / 'final_results'
    wait_for(lambda: (final / 'kept (2).png').is_file())
    assert (final / 'kept.png').is_file()  # never overwritten by the second upload of the same name
    assert not (final / 'kept (3).png').exists()
    assert (server.results / 'restored_faces' / 'kept_00.png').is_file()
    assert (server.results / 'cropped_faces' / 'kept (2)_00.png').is_file()
    gallery = server.json('GET', '/api/gallery')
    names = [g['name'] for g in gallery]
    assert 'final_results/kept.png' in names and 'final_results/kept (2).png' in names
    status, headers, data = server.request('GET', f'/api/gallery/file?name={quote("final_results/kept.png")}')
    assert status == 200 and decode(data).shape == (1024, 1024, 3)
    assert server.request('GET', '/api/gallery/file?name=../../etc/passwd')[0] == 404
    # a batch's results and a video join them
    batch = server.json('POST', '/api/batches')['id']
    server.json('POST', f'/api/batches/{batch}/files?name=kept.png', face.read_bytes())
    server.wait_job(server.json('POST', f'/api/batches/{batch}/start', {})['id'])
    wait_for(lambda: (final / 'kept (3).png').is_file())


def test_two_w_values_side_by_side(server, photo_file):
    photo = upload_photo(server, photo_file)
    main = restore(server, photo, settings={'w': 0.0}, faces=[0, 1])
    side = restore(server, photo, settings={'w': 1.0}, faces=[0, 1], side=True)
    assert side['side'] and not main['side']
    png, _ = result_png(server, photo, main['version'])  # the main result stays the latest
    status, _, other = server.request('GET', f'/api/photos/{photo["id"]}/result.png?v={side["version"]}&side=1')
    assert status == 200 and 'w: 1' in read_texts(other)['parameters'] and 'w: 0' in read_texts(png)['parameters']
    assert np.abs(decode(other).astype(int) - decode(png)).max() > 0


def test_wrong_files_are_refused_by_content_with_a_hint(server, tmp_path):
    """Issue 30, point 9: each tab checks what an upload holds, not its name, and says where it belongs; a photo
    with no face says so and what to try."""
    from tests.video.test_loop import make_clip
    clip = tmp_path / 'clip.mp4'
    make_clip(clip, frames=4, size=64)
    words = b'just some words\n' * 40  # FFmpeg opens a text file as an "ansi" video: it must not get that far
    private = next(server.tmp.glob('codeformer-serve-*'))
    before = {p for p in private.rglob('*') if p.is_file()}

    def refused(path: str, body: bytes) -> str:
        message = server.json('POST', path, body, expect=400)['error']
        assert '\n' not in message and str(server.tmp) not in message
        return message

    # the video tab: text (by any name) is not a video, a photo belongs in the Photo tab
    assert refused('/api/videos?name=notes.txt', words).startswith('notes.txt: not a video')
    assert refused('/api/videos?name=notes.mp4', words).startswith('notes.mp4: cannot open as a video')
    photo = write_face(tmp_path / 'face.png').read_bytes()
    said = refused('/api/videos?name=face.png', photo)
    assert said.startswith('face.png: a photo') and 'Photo tab' in said, said
    # the photo tab: a video belongs in the Video tab
    said = refused('/api/photos?name=clip.mp4', clip.read_bytes())
    assert said.startswith('clip.mp4: a video') and 'Video tab' in said, said
    # a batch: a text file called .jpg is refused when added, not in the run
    batch = server.json('POST', '/api/batches')['id']
    assert refused(f'/api/batches/{batch}/files?name=fake.jpg', words).startswith('fake.jpg: not an image')
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w') as z:
        z.writestr('inside.png', words)
    added = server.json('POST', f'/api/batches/{batch}/files?name=fakes.zip', archive.getvalue())
    assert added['added'] == [] and added['refused'][0].startswith('inside.png: not an image')
    # nothing of the refused uploads stays in the private folder
    assert {p for p in private.rglob('*') if p.is_file()} <= before


def test_a_photo_with_no_face_says_what_to_try(server, tmp_path):
    plain = np.zeros((150, 200, 3), np.uint8)
    plain[:] = np.linspace(0, 255, 200, dtype=np.uint8)[None, :, None]
    write_image(tmp_path / 'plain.png', plain)
    photo = upload_photo(server, tmp_path / 'plain.png')
    assert photo['faces'] == [] and 'another face detector' in photo['note'] and 'larger photo' in photo['note']
    r = restore(server, photo, faces=[])
    assert r['note'] == photo['note'] and r['note'].startswith('No face was found in plain.png')
    face = upload_photo(server, write_face(tmp_path / 'face.png'))
    assert face['note'] is None


def test_a_stopped_batch_says_what_its_zip_holds(server, tmp_path):
    """Issue 30, point 8: a stopped batch said "stopped after 0 of 3 files" while its zip held 1 file (the count
    was taken before the file under way was finished). The message now counts the files restored, as the zip holds
    them, and the job's status says that count once."""
    import re
    import time
    photo = tmp_path / 'group.png'
    write_image(photo, two_faces())
    batch = server.json('POST', '/api/batches')['id']
    for i in range(5):
        server.json('POST', f'/api/batches/{batch}/files?name=p{i}.png', photo.read_bytes())
    job = server.json('POST', f'/api/batches/{batch}/start', {})
    end = time.monotonic() + 300
    while server.json('GET', f'/api/jobs/{job["id"]}')['done'] < 1:  # one file done, the next under way
        assert time.monotonic() < end, 'no file done in 300 s'
        time.sleep(0.05)
    server.json('POST', f'/api/jobs/{job["id"]}/stop')
    done = server.wait_job(job['id'], timeout=300)
    assert done['state'] == 'stopped', done
    with zipfile.ZipFile(io.BytesIO(server.request('GET', f'/api/jobs/{job["id"]}/results.zip')[2])) as z:
        kept = [n for n in z.namelist() if n.startswith('final_results/')]
    counts = re.findall(r'(\d+) of (\d+) files', done['message'])
    assert counts == [(str(len(kept)), '5')], (done['message'], kept)
    assert 1 <= len(kept) < 5, kept

"""Bounded work (``codeformer.serve.limits``): the worker's queues of tasks and jobs, and the private folder's cap,
each refusing with ``Busy`` (503, ``Retry-After``) beyond its limit and never dropping what it took before."""
import io
import threading
import zipfile

import pytest

from codeformer.serve.limits import Limits
from codeformer.serve.store import Busy, Storage, extract_zip
from codeformer.serve.worker import Worker, WorkerJob


class Blocked:
    """A worker whose thread is held in a task until ``release``: what is submitted meanwhile waits."""

    def __init__(self, limits: Limits):
        self.worker = Worker(limits)
        self.started, self.gate = threading.Event(), threading.Event()
        self.first = self.worker.call(self._hold)
        assert self.started.wait(30)

    def _hold(self):
        self.started.set()
        self.gate.wait(30)
        return 'held'

    def release(self):
        self.gate.set()
        self.worker.close()


def test_waiting_tasks_are_bounded_per_client_and_in_all():
    held = Blocked(Limits(waiting_tasks=3, waiting_tasks_per_client=2))
    try:
        a1 = held.worker.call(lambda: 'a1', owner='tab a')
        a2 = held.worker.call(lambda: 'a2', owner='tab a')
        with pytest.raises(Busy, match='2 of your requests are waiting') as refused:
            held.worker.call(lambda: 'a3', owner='tab a')
        assert refused.value.status == 503 and refused.value.retry_after >= 1
        b1 = held.worker.call(lambda: 'b1', owner='tab b')
        with pytest.raises(Busy, match='3 requests are waiting for the network already'):
            held.worker.call(lambda: 'c1', owner='tab c')
        with pytest.raises(Busy):
            held.worker.check_tasks('tab c')  # said before an upload is read
        held.worker.call(lambda: 'rest', owner=None)  # the rest of a request let in is never refused
    finally:
        held.release()
    assert [f.result(30) for f in (held.first, a1, a2, b1)] == ['held', 'a1', 'a2', 'b1']  # none dropped


def test_a_newer_task_with_the_same_key_replaces_the_older_one_even_at_the_limit():
    held = Blocked(Limits(waiting_tasks=1, waiting_tasks_per_client=1))
    try:
        old = held.worker.call(lambda: 'old', key=('photo', 'x'), owner='tab a')
        new = held.worker.call(lambda: 'new', key=('photo', 'x'), owner='tab a')  # takes the older one's place
        with pytest.raises(Busy):
            held.worker.call(lambda: 'other', key=('photo', 'y'), owner='tab a')
    finally:
        held.release()
    assert new.result(30) == 'new'
    with pytest.raises(Exception, match='replaced by a newer request for the same photo'):
        old.result(30)


class Quick(WorkerJob):
    def run(self, worker):
        self.done = self.total


def job(n: int, owner: str) -> Quick:
    return Quick(f'{n:016x}', 'batch', f'job {n}', total=1, owner=owner)


def test_queued_jobs_are_bounded_per_client_and_in_all_and_none_is_lost():
    held = Blocked(Limits(queued_jobs=3, queued_jobs_per_client=2))
    taken = [job(1, 'tab a'), job(2, 'tab a'), job(3, 'tab b')]
    try:
        for j in taken[:2]:
            held.worker.submit(j)
        with pytest.raises(Busy, match='2 of your jobs are waiting already') as refused:
            held.worker.submit(job(4, 'tab a'))
        assert refused.value.retry_after >= 5
        held.worker.submit(taken[2])
        with pytest.raises(Busy, match='3 jobs are waiting already'):
            held.worker.submit(job(5, 'tab c'))
        assert sorted(held.worker.jobs) == sorted(j.id for j in taken)  # the refused ones were never listed
    finally:
        held.gate.set()
    for j in taken:
        wait_until(lambda j=j: j.state == 'done')
    held.worker.close()


def wait_until(condition, tries: int = 600):
    import time
    for _ in range(tries):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError('never happened')


def test_the_private_folder_is_capped_and_a_refused_write_is_not_counted(tmp_path):
    storage = Storage(tmp_path, max_bytes=1000)
    try:
        with storage.meter() as meter:
            meter.add(storage.root / 'a', 600)
        assert storage.used() == 600 and storage.room() == 400
        with pytest.raises(Busy, match='store of uploads is full') as refused:
            with storage.meter() as meter:
                meter.add(storage.root / 'b', 300)
                meter.add(storage.root / 'b', 300)
        assert refused.value.status == 503 and refused.value.retry_after >= 1
        assert storage.used() == 600  # the refused file (removed by its writer) no longer counts
        # the folder's real size replaces the counted one at the next look
        (storage.root / 'real').write_bytes(bytes(100))
        storage.refresh(most_age=0)
        assert storage.used() == 100
    finally:
        storage.close()


def test_a_zip_that_does_not_fit_leaves_none_of_its_files(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for i in range(4):
            z.writestr(f'{i}.png', bytes(400))
    archive = tmp_path / 'four.zip'
    archive.write_bytes(buf.getvalue())
    storage = Storage(tmp_path, max_bytes=1000)
    out = storage.root / 'in'
    out.mkdir()
    try:
        with pytest.raises(Busy), storage.meter() as meter:
            extract_zip(archive, out, 10_000, meter)
        assert list(out.iterdir()) == [] and storage.used() == 0
        with storage.meter() as meter:  # two of them fit
            buf2 = io.BytesIO()
            with zipfile.ZipFile(buf2, 'w') as z:
                z.writestr('a.png', bytes(400))
                z.writestr('b.png', bytes(400))
            (tmp_path / 'two.zip').write_bytes(buf2.getvalue())
            assert [p.name for p in extract_zip(tmp_path / 'two.zip', out, 10_000, meter)] == ['a.png', 'b.png']
        assert storage.used() == 800
    finally:
        storage.close()


def test_open_photos_are_bounded_and_a_busy_client_never_loses_one_to_another(tmp_path):
    from codeformer.serve.photos import Photo, PhotoStore

    def photo(n: int, owner: str) -> Photo:
        path = tmp_path / f'{n:016x}' / 'p.png'
        path.parent.mkdir()
        path.write_bytes(b'x')
        return Photo(f'{n:016x}', 'p.png', path, owner=owner)

    store = PhotoStore(capacity=3, per_tab=2)
    first = photo(1, 'tab a')
    for p in (first, photo(2, 'tab a'), photo(3, 'tab a')):
        store.add(p)
    with pytest.raises(Exception, match='no such photo'):  # a tab shows its newest: its oldest went
        store.get(first.id)
    assert not first.path.exists()
    store.add(photo(4, 'tab b'))  # full now, every photo in use
    with pytest.raises(Busy, match='3 photos are open on this server'):
        store.add(photo(5, 'tab c'))
    store.add(photo(6, 'tab b'))  # tab b's own older photo makes room
    scripts = photo(7, 'address 127.0.0.1')
    with pytest.raises(Busy):
        store.check_room(scripts.owner)
    store.idle_s = 0  # all idle: the one unused longest goes
    store.add(scripts)
    assert store.get(scripts.id) is scripts and store.get(f'{6:016x}').owner == 'tab b'


def noise_png(width: int, height: int, seed: int) -> bytes:
    """A PNG of random pixels: about 3 bytes a pixel, whatever the compression."""
    import cv2
    import numpy as np
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.imencode('.png', pixels)[1].tobytes()


@pytest.mark.slow  # several seconds: CI runs it, make test-fast leaves it
def test_a_busy_server_answers_503_with_retry_after_and_loses_nothing(checkpoint, tmp_path):
    """Jobs beyond the queue's limits (per tab, and in all) and uploads beyond the private folder's cap are refused
    with 503, ``Retry-After`` and one line; the jobs and files taken before are all done, and the refused ones are
    taken once there is room."""
    import json

    from tests.serve.test_app import write_face
    from tests.support.serve import start_server
    from tests.video.test_loop import make_clip

    served = start_server(checkpoint, tmp_path / 'busy', '--max_queued_jobs', '2', '--max_queued_jobs_per_client',
                          '1', '--max_upload_mb', '1', '--max_stored_mb', '3')
    tab = {name: {'X-Codeformer-Client': name} for name in ('a', 'x', 'y', 'z')}
    face = write_face(tmp_path / 'face.png').read_bytes()

    def batch_of(name: str) -> str:
        batch = served.json('POST', '/api/batches')['id']
        served.json('POST', f'/api/batches/{batch}/files?name={name}.png', face)
        return batch

    def busy(status, headers, body) -> str:
        assert status == 503, (status, body)
        assert int(headers['Retry-After']) >= 1
        message = json.loads(body)['error']
        assert '\n' not in message and message.startswith('busy: ')
        return message

    try:
        clip = make_clip(tmp_path / 'long.mp4', frames=150, size=128, audio=None).read_bytes()
        video = served.json('POST', '/api/videos?name=long.mp4', clip)
        running = served.json('POST', f'/api/videos/{video["id"]}/start', {'settings': {'upscale': 1}},
                              headers=tab['a'])
        b, c, d, e = (batch_of(n) for n in 'bcde')
        queued = [served.json('POST', f'/api/batches/{b}/start', {}, headers=tab['x'])]
        assert queued[0]['state'] == 'queued'
        said = busy(*served.request('POST', f'/api/batches/{c}/start', {}, headers=tab['x']))
        assert said.startswith('busy: 1 of your jobs are waiting already')
        queued.append(served.json('POST', f'/api/batches/{d}/start', {}, headers=tab['y']))
        said = busy(*served.request('POST', f'/api/batches/{e}/start', {}, headers=tab['z']))
        assert said.startswith('busy: 2 jobs are waiting already')
        # the private folder: files go in until it is full; the refused one leaves nothing
        f = served.json('POST', '/api/batches')['id']
        added, refused = 0, None
        for i in range(12):
            status, headers, body = served.request('POST', f'/api/batches/{f}/files?name=f{i}.png',
                                                   noise_png(500, 500, i))
            if status != 200:
                refused = busy(status, headers, body)
                break
            added += 1
        assert refused is not None and 'store of uploads is full' in refused and added >= 1, refused
        private = next(served.tmp.glob('codeformer-serve-*'))
        assert not list(private.rglob(f'f{added}.png'))
        # the running job stopped: everything queued is done, and what was refused is taken now
        served.json('POST', f'/api/jobs/{running["id"]}/stop')
        for job in queued:
            assert served.wait_job(job['id'])['state'] == 'done'
        later = [served.json('POST', f'/api/batches/{batch}/start', {}, headers=tab[who]) for batch, who in
                 ((c, 'x'), (e, 'z'))]
        for job in later:
            assert served.wait_job(job['id'])['state'] == 'done'
        last = served.wait_job(served.json('POST', f'/api/batches/{f}/start', {'settings': {'upscale': 1}})['id'])
        assert last['state'] == 'done' and last['total'] == added
    finally:
        served.stop()
    kept = {p.name for p in (served.results / 'final_results').iterdir()}
    assert {'b.png', 'c.png', 'd.png', 'e.png'} | {f'f{i}.png' for i in range(added)} <= kept

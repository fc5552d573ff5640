"""Live updates (issue 30, point 12): the page followed its jobs by asking for the list every 0.7 s, three quarters
of the request log. The server now streams a tab's job list as Server-Sent Events (``GET /api/events``) whenever
it changes: these tests read the stream of a real server over HTTP, as the page's EventSource does."""
import io
import json
import time
import zipfile
from urllib.parse import urlsplit

import cv2
import pytest

from tests.support.events import EventStream
from tests.support.serve import two_faces

pytestmark = pytest.mark.slow  # a real server runs the batches

CLIENT = 'X-Codeformer-Client'


def faces_zip(files: int) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, 'w') as z:
        for i in range(files):
            z.writestr(f'face{i:02d}.png', cv2.imencode('.png', two_faces()[:, :512])[1].tobytes())
    return archive.getvalue()


def start_batch(server, client: str, files: int) -> str:
    """A batch of ``files`` one-face photos started for the browser tab ``client``; its job id."""
    batch = server.json('POST', '/api/batches', headers={CLIENT: client})['id']
    server.json('POST', f'/api/batches/{batch}/files?name=faces.zip', faces_zip(files), headers={CLIENT: client})
    return server.json('POST', f'/api/batches/{batch}/start', {'settings': {'upscale': 1}},
                       headers={CLIENT: client})['id']


def test_the_stream_delivers_a_jobs_progress_and_its_end(server):
    port = urlsplit(server.url).port
    with EventStream(server.url, 'events-progress', headers={'Host': f'attacker.example:{port}'}) as refused:
        assert refused.status == 403  # behind the guard as every route: a rebinding page reads nothing
    with EventStream(server.url, 'events-progress') as stream, EventStream(server.url, 'events-other') as other:
        assert stream.status == 200 and stream.response.getheader('Content-Type').startswith('text/event-stream')
        lists = stream.job_lists()
        assert next(lists) == []  # at once: the tab's list as it is (no job yet)
        assert next(other.job_lists()) == []
        job = start_batch(server, 'events-progress', 3)
        seen = []
        for jobs in lists:
            mine = [j for j in jobs if j['id'] == job]
            assert len(jobs) == len(mine) == 1, jobs  # the tab's own jobs only
            seen.append(mine[0])
            if mine[0]['state'] not in ('queued', 'running'):
                break
        running = [j for j in seen if j['state'] == 'running']
        assert running and running[0]['progress'] < 3, seen
        progress = [j['progress'] for j in seen]
        assert progress == sorted(progress), progress
        assert (seen[-1]['state'], seen[-1]['done'], seen[-1]['total']) == ('done', 3, 3), seen[-1]
        assert seen[-1]['message'] == '3 done, 0 failed'
        assert [j['id'] for j in server.json('GET', '/api/jobs', headers={CLIENT: 'events-other'})] == []


def test_open_streams_are_bounded_for_each_client(server):
    streams = [EventStream(server.url, 'events-many') for _ in range(4)]
    try:
        for s in streams:
            assert s.status == 200
            next(s.job_lists())  # open and counted
        status, headers, body = server.request('GET', '/api/events?client=events-many')
        assert status == 503 and headers['Retry-After'], (status, body)
        said = json.loads(body)['error']
        assert 'streams' in said and '\n' not in said, said
        with EventStream(server.url, 'events-someone-else') as someone:  # another tab is not refused for it
            assert someone.status == 200
        streams.pop().close()
        end = time.monotonic() + 20
        while True:  # the closed stream's place frees once the server sees it gone
            with EventStream(server.url, 'events-many') as again:
                if again.status == 200:
                    break
            assert time.monotonic() < end, 'the closed stream still counts'
            time.sleep(0.2)
    finally:
        for s in streams:
            s.close()


def test_the_request_log_leaves_the_stream_out(server):
    before = server.log.stat().st_size
    with EventStream(server.url, 'events-log') as stream:
        next(stream.job_lists())
    server.json('GET', '/api/info')
    end = time.monotonic() + 10
    while '/api/info' not in (new := server.log.read_bytes()[before:].decode(errors='replace')):
        assert time.monotonic() < end, new
        time.sleep(0.05)
    assert '/api/events' not in new, new


def test_a_page_with_no_job_hears_of_the_jobs_of_other_pages(server):
    """Issue 30, point 2: a second tab said "queue: empty" while another tab's batch held the worker. Each stream now
    also says how many jobs of other browsers are queued or running (event ``others``), and when that changes."""
    with EventStream(server.url, 'events-idle', timeout=10) as idle:  # keep-alives come every 15 s: not read here
        events = idle.events()
        assert next(events) == ('message', '[]')
        assert next(events) == ('others', '0')
        job = start_batch(server, 'events-busy', 3)
        said = next(data for name, data in events if name == 'others')
        assert said == '1', said
        assert next(data for name, data in events if name == 'others') == '0'  # the batch has ended
        assert server.json('GET', f'/api/jobs/{job}')['state'] == 'done'

"""Who may use the page (``codeformer.serve.guard``): the Host and Origin checks, on their own and on a real server."""
from urllib.parse import quote, urlsplit

import pytest

from codeformer.serve.guard import HostPolicy, host_name, refusal


def test_host_names_are_read_without_port_or_brackets():
    assert host_name('LocalHost:8000') == 'localhost' and host_name('[::1]:80') == '::1'
    assert host_name('127.0.0.1') == '127.0.0.1' and host_name('::1') == '::1'


@pytest.mark.parametrize('listen,host,allowed', [
    ('127.0.0.1', '127.0.0.1:8000', True),
    ('127.0.0.1', 'localhost:8000', True),
    ('127.0.0.1', '[::1]:8000', True),
    ('127.0.0.1', 'attacker.example:8000', False),  # DNS rebinding: another site's name pointed at 127.0.0.1
    ('127.0.0.1', '', False),
    ('0.0.0.0', '192.168.1.20:8000', True),  # every address: any IP, as a phone on the LAN types it
    ('0.0.0.0', 'attacker.example:8000', False),
    ('192.168.1.20', '192.168.1.20:8000', True),
    ('192.168.1.20', 'localhost:8000', False),
])
def test_the_hosts_a_server_answers(listen, host, allowed):
    assert (refusal(host, {}, 'GET', HostPolicy(listen)) is None) == allowed


def test_allow_host_adds_a_name():
    policy = HostPolicy('127.0.0.1', ['photos.lan'])
    assert refusal('photos.lan:8000', {}, 'GET', policy) is None


@pytest.mark.parametrize('headers,allowed', [
    ({}, True),  # a script or curl: no web page behind it
    ({'origin': 'http://127.0.0.1:8000'}, True),
    ({'referer': 'http://127.0.0.1:8000/#photo'}, True),
    ({'origin': 'http://attacker.example'}, False),
    ({'origin': 'http://127.0.0.1:9999'}, False),  # another local server is another origin
    ({'origin': 'null'}, False),  # a sandboxed frame or a file
    ({'referer': 'http://attacker.example/page'}, False),
])
def test_a_post_must_come_from_the_page_itself(headers, allowed):
    policy = HostPolicy('127.0.0.1')
    assert (refusal('127.0.0.1:8000', headers, 'POST', policy) is None) == allowed
    assert refusal('127.0.0.1:8000', headers, 'GET', policy) is None  # reading needs the right Host only


def test_another_sites_requests_are_refused_by_a_real_server_and_change_nothing(server, photo_file):
    port = urlsplit(server.url).port
    own = {'Origin': server.url.rstrip('/')}
    before = server.json('GET', '/api/gallery')
    body = photo_file.read_bytes()
    # a page in another tab: a POST with a content type that needs no preflight
    status, _, data = server.request('POST', f'/api/photos?name={quote("a.jpg")}&detector=mtcnn', body,
                                     headers={'Origin': 'http://attacker.example', 'Content-Type': 'text/plain'})
    assert status == 403 and b'not from this page' in data
    assert not list(server.tmp.rglob('a.jpg'))  # nothing stored
    # DNS rebinding: the same server reached under another site's name
    status, _, data = server.request('GET', '/api/gallery', headers={'Host': f'attacker.example:{port}'})
    assert status == 403 and b'is not this server' in data
    status, _, _ = server.request('GET', '/', headers={'Host': f'attacker.example:{port}'})
    assert status == 403
    # the page itself (same origin) and scripts (no Origin) go on as before
    photo = server.json('POST', f'/api/photos?name={quote("b.jpg")}&detector=mtcnn', body, headers=own)
    assert len(photo['faces']) == 2
    assert server.json('GET', '/api/gallery') == before
    status, _, _ = server.request('GET', '/', headers={'Host': f'localhost:{port}'})
    assert status == 200


def test_beyond_this_computer_the_page_needs_its_token_which_never_reaches_the_log(checkpoint, tmp_path):
    import urllib.error
    import urllib.request

    from tests.support.serve import Served, start_server
    served = start_server(checkpoint, tmp_path / 'lan', '--host', '0.0.0.0')
    try:
        printed = urlsplit(served.url)
        token = printed.query.removeprefix('token=')
        assert len(token) >= 24 and printed.path == '/'
        base = Served(f'http://{printed.netloc}/', served.process, served.tmp, served.log)
        assert base.request('GET', '/api/info')[0] == 403  # no token
        assert base.request('GET', '/')[0] == 403
        assert base.request('GET', '/api/info', headers={'X-Codeformer-Token': 'wrong'})[0] == 403
        assert base.request('GET', '/api/info', headers={'X-Codeformer-Token': token})[0] == 200

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as visit:  # the printed address: the token becomes a cookie
            opener.open(served.url, timeout=30)
        assert visit.value.code == 303 and visit.value.headers['Location'] == '/'
        cookie = visit.value.headers['Set-Cookie']
        assert cookie.startswith(f'codeformer_token={token};') and 'HttpOnly' in cookie and 'SameSite=Strict' in cookie
        with_cookie = {'Cookie': f'codeformer_token={token}'}
        assert base.request('GET', '/', headers=with_cookie)[0] == 200
        assert base.request('GET', '/api/gallery', headers=with_cookie)[0] == 200
    finally:
        served.stop()
    log = served.log.read_text(errors='replace')
    assert 'GET /?token=[hidden]' in log and token not in log.replace(served.url, '')


@pytest.mark.parametrize('host', ['photos.example.org', 'photos.example.org:8443'])
def test_behind_a_reverse_proxy_the_pages_own_requests_pass(host):
    """As the README's nginx example forwards them: the browser's Host, and an https Origin with the same name."""
    policy = HostPolicy('127.0.0.1', ['photos.example.org'])
    assert refusal(host, {'origin': f'https://{host}'}, 'POST', policy) is None
    assert refusal(host, {'origin': 'https://attacker.example'}, 'POST', policy) is not None
    assert refusal('attacker.example', {}, 'GET', policy) is not None

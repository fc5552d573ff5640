"""Who may use the page: every request is untrusted until its Host and, for one that changes something, its Origin
say it comes from the page itself.

- Host: a page in another tab can point its own domain name at 127.0.0.1 (DNS rebinding) and then read the user's
  results as same-origin. Requests are served only when their Host names this server: for a loopback server
  localhost, 127.0.0.1 or [::1]; for a named address that address; for one listening on every address (0.0.0.0, ::)
  any IP address (a domain name there is what rebinding needs); and any name given with ``--allow-host``.
- Origin: a browser sends a cross-site POST with a plain content type without asking first, so a page in another tab
  could upload files and run the network. A POST (any method but GET, HEAD and OPTIONS) whose Origin (or, without
  one, Referer) is not this page's own is refused; one with neither (a script, curl) comes from no web page.

- Token: a server that listens beyond this computer needs one (made at start, or ``--token``, or
  ``$CODEFORMER_TOKEN``; ``--no-token`` for a reverse proxy that authenticates). The URL the server prints carries it
  once (``/?token=...``); that visit turns it into an HttpOnly, SameSite=Strict cookie and leaves the address bar
  without it, and every later request shows the cookie (or the ``X-Codeformer-Token`` header, for scripts). The
  request log never shows the token.

Refusals are 403 with one JSON line, as every other refusal of the page.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

LOOPBACK_NAMES = ('localhost', '127.0.0.1', '::1')
SAFE_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})
TOKEN_COOKIE = 'codeformer_token'
TOKEN_HEADER = 'x-codeformer-token'


def host_name(value: str) -> str:
    """The name in a Host header or URL authority, without port or brackets, lower case ('[::1]:80' -> '::1')."""
    value = value.strip().lower()
    if value.startswith('['):
        return value[1:value.find(']')] if ']' in value else value
    return value.rsplit(':', 1)[0] if value.count(':') == 1 else value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Which Host names a server listening on ``listen`` answers (``allowed``: more names, from ``--allow-host``)."""

    def __init__(self, listen: str, allowed: Iterable[str] = ()):
        listen = host_name(listen)
        self.any_ip = listen in ('0.0.0.0', '::')
        loopback = listen == 'localhost' or (_is_ip(listen) and ipaddress.ip_address(listen).is_loopback)
        self.names = {host_name(a) for a in allowed} | {listen} | (set(LOOPBACK_NAMES) if loopback or self.any_ip
                                                                     else set())

    def allows(self, host: str) -> bool:
        name = host_name(host)
        return name in self.names or (self.any_ip and _is_ip(name))


def refusal(request_host: str, headers: dict[str, str], method: str, policy: HostPolicy) -> str | None:
    """Why a request is refused (one line), or None when it may go on."""
    if not request_host or not policy.allows(request_host):
        shown = request_host[:80] or 'none'
        return (f'refused: Host {shown!r} is not this server (a page on another site cannot use it; start the '
                'server with --allow-host NAME to answer to another name)')
    if method in SAFE_METHODS:
        return None
    origin = headers.get('origin')
    source = 'Origin'
    if origin is None and headers.get('referer'):
        origin, source = headers['referer'], 'Referer'
    if origin is None:
        return None
    parts = urlsplit(origin)
    if origin == 'null' or parts.scheme not in ('http', 'https') or parts.netloc.lower() != request_host.lower():
        return f'refused: a request from {origin[:80]!r} ({source}) is not from this page'
    return None


def presented_token(headers: dict[str, str]) -> str | None:
    """The token a request shows: its header, else its cookie."""
    if TOKEN_HEADER in headers:
        return headers[TOKEN_HEADER]
    for part in headers.get('cookie', '').split(';'):
        name, _, value = part.strip().partition('=')
        if name == TOKEN_COOKIE:
            return value
    return None


class RequestGuard:
    """ASGI middleware: each HTTP request checked by ``refusal`` (and, with a ``token``, for the token) before the
    app sees it."""

    def __init__(self, app, policy: HostPolicy, token: str | None = None):
        self.app, self.policy, self.token = app, policy, token

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        headers = {}
        for key, value in scope.get('headers', ()):
            headers.setdefault(key.decode('latin-1').lower(), value.decode('latin-1'))
        reason = refusal(headers.get('host', ''), headers, scope.get('method', 'GET'), self.policy)
        if reason is None and self.token is not None:
            given = parse_qs(scope.get('query_string', b'').decode('latin-1')).get('token', [None])[0]
            if given is not None and scope.get('path') == '/' and self._matches(given):
                await _respond(send, 303, b'', [(b'location', b'/'), (b'set-cookie', (
                    f'{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/').encode())])
                return
            if not self._matches(presented_token(headers)):
                reason = 'refused: this page needs its token; open the address the server printed when it started'
        if reason is None:
            await self.app(scope, receive, send)
            return
        await _drain(receive)
        await _respond(send, 403, json.dumps({'error': reason}).encode(), [(b'content-type', b'application/json')])

    def _matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


async def _drain(receive, most: int = 64 * 2**20) -> None:
    """Read a refused request's body (up to ``most`` bytes, kept nowhere), so its client reads the refusal instead of
    a connection closed under its upload."""
    seen = 0
    while seen <= most:
        message = await receive()
        if message['type'] != 'http.request':
            return
        seen += len(message.get('body', b''))
        if not message.get('more_body'):
            return


async def _respond(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({'type': 'http.response.start', 'status': status,
                'headers': [*headers, (b'content-length', str(len(body)).encode()), (b'cache-control', b'no-store')]})
    await send({'type': 'http.response.body', 'body': body})


class TokenRedaction(logging.Filter):
    """Keeps the token out of the request log (``token=...`` in a logged URL becomes ``token=[hidden]``)."""

    _pattern = re.compile(r'(token=)[^&\s]+')

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._pattern.sub(r'\1[hidden]', a) if isinstance(a, str) else a
                                for a in record.args)
        return True

"""Who may use the page: every request is untrusted until its Host and, for one that changes something, its Origin
say it comes from the page itself.

- Host: a page in another tab can point its own domain name at 127.0.0.1 (DNS rebinding) and then read the user's
  results as same-origin. Requests are served only when their Host names this server: for a loopback server
  localhost, 127.0.0.1 or [::1]; for a named address that address; for one listening on every address (0.0.0.0, ::)
  any IP address (a domain name there is what rebinding needs); and any name given with ``--allow-host``.
- Origin: a browser sends a cross-site POST with a plain content type without asking first, so a page in another tab
  could upload files and run the network. A POST (any method but GET, HEAD and OPTIONS) whose Origin (or, without
  one, Referer) is not this page's own is refused; one with neither (a script, curl) comes from no web page.

Refusals are 403 with one JSON line, as every other refusal of the page.
"""
from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

LOOPBACK_NAMES = ('localhost', '127.0.0.1', '::1')
SAFE_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})


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


class RequestGuard:
    """ASGI middleware: each HTTP request checked by ``refusal`` before the app sees it."""

    def __init__(self, app, policy: HostPolicy):
        self.app, self.policy = app, policy

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        headers = {}
        for key, value in scope.get('headers', ()):
            headers.setdefault(key.decode('latin-1').lower(), value.decode('latin-1'))
        reason = refusal(headers.get('host', ''), headers, scope.get('method', 'GET'), self.policy)
        if reason is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({'error': reason}).encode()
        await send({'type': 'http.response.start', 'status': 403,
                    'headers': [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode()),
                                (b'cache-control', b'no-store')]})
        await send({'type': 'http.response.body', 'body': body})

"""A real HTTP file server on 127.0.0.1 for download tests: serves byte strings, honours ``Range``,
can cut a response short, and records every request it gets."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    path: str
    range: str | None


@dataclass
class FileServer:
    """``files`` maps a URL path ('/name.pth') to its bytes. ``cut_after[path] = n`` makes the next request for
    ``path`` announce the full length but close the connection after ``n`` bytes (once). With ``ignore_range``
    the server answers every request with the whole file (status 200), as some servers do."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)
    ignore_range: bool = False
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f'http://{host}:{port}'

    def start(self) -> FileServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802  (the name http.server dispatches to)
                owner._serve(self)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut down and free the port: afterwards connections to ``url`` are refused."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = None

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        rng = h.headers.get('Range')
        self.requests.append(Request(h.path, rng))
        data = self.files.get(h.path)
        if data is None:
            h.send_error(404)
            return
        start, status = 0, 200
        match = re.fullmatch(r'bytes=(\d+)-', rng or '')
        if match and not self.ignore_range:
            start, status = int(match.group(1)), 206
            if start >= len(data):
                h.send_response(416)
                h.send_header('Content-Range', f'bytes */{len(data)}')
                h.send_header('Content-Length', '0')
                h.end_headers()
                return
        body = data[start:]
        h.send_response(status)
        h.send_header('Content-Type', 'application/octet-stream')
        h.send_header('Content-Length', str(len(body)))
        if status == 206:
            h.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        h.end_headers()
        cut = self.cut_after.pop(h.path, None)
        h.wfile.write(body if cut is None else body[:cut])
        h.wfile.flush()
        h.close_connection = True

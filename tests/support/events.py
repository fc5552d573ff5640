"""The page's event stream (``GET /api/events``) read as a browser's EventSource reads it, over a plain HTTP
connection: each event's name and data, until the server ends the stream."""
from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit


class EventStream:
    """One open stream of a server's job list, for the browser tab ``client`` (None: a script, every job)."""

    def __init__(self, url: str, client: str | None = None, timeout: float = 120, headers: dict | None = None):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.connection.request('GET', '/api/events' + (f'?client={client}' if client else ''),
                                headers=headers or {})
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.comments: list[str] = []

    def events(self) -> Iterator[tuple[str, str]]:
        """(event name, data) of each event as it comes; ends with the stream."""
        name, data = 'message', []
        while True:
            raw = self.response.readline()
            if not raw:
                return
            line = raw.decode().rstrip('\r\n')
            if not line:
                if data:
                    yield name, '\n'.join(data)
                name, data = 'message', []
                continue
            field, _, value = line.partition(':')
            value = value[1:] if value.startswith(' ') else value
            if not field:
                self.comments.append(value)
            elif field == 'event':
                name = value
            elif field == 'data':
                data.append(value)

    def job_lists(self) -> Iterator[list[dict]]:
        """The job lists the stream sends (its other events skipped)."""
        for name, data in self.events():
            if name == 'message':
                yield json.loads(data)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

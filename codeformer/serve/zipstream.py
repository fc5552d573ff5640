"""A zip file written as a stream of byte chunks (for a response that starts before the archive is complete), and
the checked reading of an uploaded zip."""
from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

CHUNK = 1 << 20


class _Sink:
    """A write-only, unseekable file object whose written bytes are taken out as chunks."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b''.join(self.parts), []
        return data


def zip_stream(entries: Iterable[tuple[str, Path | bytes]]) -> Iterator[bytes]:
    """The zip of ``entries`` (name in the archive, file or bytes), chunk by chunk: memory holds one chunk at a time.
    Images are stored (PNG is compressed already), other files deflated."""
    sink = _Sink()
    with zipfile.ZipFile(sink, 'w') as archive:
        for name, source in entries:
            method = zipfile.ZIP_STORED if name.lower().endswith('.png') else zipfile.ZIP_DEFLATED
            if isinstance(source, bytes):
                archive.writestr(zipfile.ZipInfo(name), source, compress_type=method)
            else:
                info = zipfile.ZipInfo.from_file(source, name)
                info.compress_type = method
                with open(source, 'rb') as src, archive.open(info, 'w') as dst:
                    while block := src.read(CHUNK):
                        dst.write(block)
                        if sink.parts:
                            yield sink.take()
            yield sink.take()
    yield sink.take()

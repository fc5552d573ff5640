"""PNG text chunks: the parameters of a result written into the file, as AUTOMATIC1111 writes its infotext
(key ``parameters``), without touching the pixels or the encoder's own chunks."""
from __future__ import annotations

import struct
import zlib

_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack('>I', len(payload)) + kind + payload + struct.pack('>I', zlib.crc32(kind + payload))


def add_text(png: bytes, key: str, text: str) -> bytes:
    """``png`` with a text chunk ``key``: ``text`` right after its header chunk: ``tEXt`` when the text is Latin-1,
    else an uncompressed ``iTXt`` (UTF-8). Everything else stays byte for byte."""
    if not png.startswith(_SIGNATURE) or png[12:16] != b'IHDR':
        raise ValueError('not a PNG file')
    end = 8 + 12 + struct.unpack('>I', png[8:12])[0]  # signature, then IHDR: length, type, data, crc
    name = key.encode('latin-1')
    try:
        chunk = _chunk(b'tEXt', name + b'\x00' + text.encode('latin-1'))
    except UnicodeEncodeError:
        chunk = _chunk(b'iTXt', name + b'\x00\x00\x00\x00\x00' + text.encode('utf-8'))
    return png[:end] + chunk + png[end:]


def read_texts(png: bytes) -> dict[str, str]:
    """Every ``tEXt``/``iTXt`` (uncompressed) chunk of ``png`` as key -> text."""
    texts, pos = {}, 8
    while pos + 12 <= len(png):
        length = struct.unpack('>I', png[pos:pos + 4])[0]
        kind, payload = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        if kind == b'tEXt':
            key, _, value = payload.partition(b'\x00')
            texts[key.decode('latin-1')] = value.decode('latin-1')
        elif kind == b'iTXt':
            key, _, rest = payload.partition(b'\x00')
            if rest[:1] == b'\x00':  # not compressed
                _, _, rest = rest[2:].partition(b'\x00')  # language tag
                _, _, value = rest.partition(b'\x00')  # translated key
                texts[key.decode('latin-1')] = value.decode('utf-8')
        pos += 12 + length
    return texts


def without_text(png: bytes) -> bytes:
    """``png`` with its ``tEXt``/``iTXt`` chunks left out (the encoder's own file, for comparing)."""
    out, pos = [png[:8]], 8
    while pos + 12 <= len(png):
        length = struct.unpack('>I', png[pos:pos + 4])[0]
        if png[pos + 4:pos + 8] not in (b'tEXt', b'iTXt'):
            out.append(png[pos:pos + 12 + length])
        pos += 12 + length
    return b''.join(out)

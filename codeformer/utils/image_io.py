"""Reading and writing image files the way a batch tool must: by content, losslessly, atomically.

Images are numpy arrays in OpenCV's layout: H x W (gray), H x W x 3 (BGR) or H x W x 4 (BGRA),
dtype uint8 or uint16. Paths may hold any unicode (OpenCV's own file functions do not accept
that everywhere, so bytes go through Python's file I/O and ``cv2.imdecode``/``cv2.imencode``).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from codeformer.errors import CodeformerError
from codeformer.utils.pngtext import add_text

IMAGE_EXTENSIONS = {'.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff'}
VIDEO_EXTENSIONS = {'.mp4', '.mov', '.avi', '.mkv', '.webm', '.m4v'}
# Pixels an image may have before it is refused from its header, undecoded: Pillow's decompression-bomb limit
# (a 179 MP colour image decodes to 537 MB; a 633-byte JPEG can claim 30000x30000).
DEFAULT_MAX_PIXELS = 178_956_970


class ImageReadError(CodeformerError, OSError):
    """An input that cannot be read as an image; the message names the file and the cause."""


class ImageTooLarge(ImageReadError):
    """An image (or the result it would give) with more pixels than the limit; found before decoding."""


def sniff_kind(head: bytes) -> str | None:
    """'image', 'video' or None from a file's first bytes."""
    if head.startswith(b'\xff\xd8\xff') or head.startswith(b'\x89PNG\r\n\x1a\n') or head.startswith(b'BM'):
        return 'image'
    if head[:4] in (b'II*\x00', b'MM\x00*'):
        return 'image'
    if head[:4] == b'RIFF' and head[8:12] == b'WEBP':
        return 'image'
    if head[:4] == b'RIFF' and head[8:12] == b'AVI ':
        return 'video'
    if head[4:8] == b'ftyp' or head.startswith(b'\x1a\x45\xdf\xa3'):
        return 'video'
    return None


def content_kind(path: str | os.PathLike) -> str | None:
    """'image', 'video' or None from the file's first bytes only: ``file_kind`` trusts the extension when the bytes
    say nothing, so a text file called ``.jpg`` passes it; an upload is checked by both."""
    try:
        with open(path, 'rb') as f:
            return sniff_kind(f.read(16))
    except OSError:
        return None


def file_kind(path: str | os.PathLike) -> str | None:
    """What a file holds, by its content first and its extension second ('image', 'video' or None)."""
    try:
        with open(path, 'rb') as f:
            kind = sniff_kind(f.read(16))
    except OSError:
        kind = None
    if kind is None:
        ext = Path(path).suffix.lower()
        kind = 'image' if ext in IMAGE_EXTENSIONS else 'video' if ext in VIDEO_EXTENSIONS else None
    return kind


def read_image(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The image in ``path`` with its alpha channel and bit depth kept and EXIF orientation applied.

    An image of more than ``max_pixels`` pixels (None: no limit) is refused from its header, before decoding.
    """
    data = read_file(path)
    width, height = image_size(data, path)
    check_pixels(path, width, height, max_pixels)
    return decode_image(data, path)


def read_file(path: str | os.PathLike) -> np.ndarray:
    """A file's bytes (as decoders take them); an unreadable or empty file is an ``ImageReadError``."""
    try:
        data = np.fromfile(os.fspath(path), dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f'{path}: cannot read file ({exc.strerror or exc})') from exc
    if data.size == 0:
        raise ImageReadError(f'{path}: empty file')
    return data


def check_pixels(path: str | os.PathLike, width: int, height: int, max_pixels: int | None,
                 what: str = 'the image') -> None:
    """Refuse ``what`` of ``width`` x ``height`` when it has more than ``max_pixels`` pixels."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLarge(f'{path}: {what} would be {width}x{height} = {width * height / 1e6:.1f} megapixels, '
                            f'over the limit of {max_pixels / 1e6:.1f} (max_pixels={max_pixels})')


def decode_image(data: np.ndarray, path: str | os.PathLike) -> np.ndarray:
    """Decode a file's bytes (from ``read_file``); ``path`` names it in errors."""
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise ImageReadError(f'{path}: cannot decode image (corrupt or unsupported format)')
    if img.dtype not in (np.uint8, np.uint16):
        if np.issubdtype(img.dtype, np.floating):
            img = (np.clip(img, 0, 1) * 65535).round().astype(np.uint16)
        else:
            raise ImageReadError(f'{path}: unsupported pixel type {img.dtype}')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    return apply_exif_orientation(img, data)


# -- sizes from headers (nothing decoded) ------------------------------------------------------------------


_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def image_size(data: np.ndarray | bytes, path: str | os.PathLike = '') -> tuple[int, int]:
    """(width, height) of a JPEG, PNG, BMP, WebP or TIFF file from its header, without decoding it.

    A file whose size cannot be read this way is an ``ImageReadError``: nothing is decoded that was not measured.
    """
    head = memoryview(data if isinstance(data, bytes) else data.data).cast('B')
    size = None
    try:
        if bytes(head[:8]) == b'\x89PNG\r\n\x1a\n' and bytes(head[12:16]) == b'IHDR':
            size = _be(head, 16, 4), _be(head, 20, 4)
        elif bytes(head[:3]) == b'\xff\xd8\xff':
            size = _jpeg_size(head)
        elif bytes(head[:2]) == b'BM':
            size = _bmp_size(head)
        elif bytes(head[:4]) == b'RIFF' and bytes(head[8:12]) == b'WEBP':
            size = _webp_size(head)
        elif bytes(head[:4]) in (b'II*\x00', b'MM\x00*'):
            size = _tiff_size(bytes(head[:1 << 20]))
    except IndexError:
        size = None
    if not size or size[0] <= 0 or size[1] <= 0:
        raise ImageReadError(f'{path}: cannot decode image (corrupt or unsupported format: no size in its header; '
                             f'supported: JPEG, PNG, WebP, BMP, TIFF)')
    return size


def _be(buf, pos: int, n: int) -> int:
    if pos + n > len(buf):
        raise IndexError(pos)
    return int.from_bytes(bytes(buf[pos:pos + n]), 'big')


def _le(buf, pos: int, n: int) -> int:
    if pos + n > len(buf):
        raise IndexError(pos)
    return int.from_bytes(bytes(buf[pos:pos + n]), 'little')


def _jpeg_size(buf) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(buf):
        if buf[pos] != 0xFF:
            return None
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before them
            return None
        if marker in _JPEG_SOF:
            return _be(buf, pos + 7, 2), _be(buf, pos + 5, 2)
        pos += 2 + _be(buf, pos + 2, 2)
    return None


def _bmp_size(buf) -> tuple[int, int]:
    if _le(buf, 14, 4) == 12:  # OS/2 core header: 16-bit sizes
        return _le(buf, 18, 2), _le(buf, 20, 2)
    height = int.from_bytes(bytes(buf[22:26]), 'little', signed=True)  # negative: stored top-down
    return _le(buf, 18, 4), abs(height)


def _webp_size(buf) -> tuple[int, int] | None:
    chunk = bytes(buf[12:16])
    if chunk == b'VP8 ':
        return _le(buf, 26, 2) & 0x3FFF, _le(buf, 28, 2) & 0x3FFF
    if chunk == b'VP8L':
        bits = _le(buf, 21, 4)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b'VP8X':
        return _le(buf, 24, 3) + 1, _le(buf, 27, 3) + 1
    return None


def _tiff_tags(tiff: bytes, wanted: set[int]) -> dict[int, int]:
    """Values of the wanted numeric tags of a TIFF structure's first IFD (missing ones left out)."""
    if len(tiff) < 8 or tiff[:2] not in (b'II', b'MM'):
        return {}
    order = 'little' if tiff[:2] == b'II' else 'big'
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return {}
    found = {}
    for i in range(int.from_bytes(tiff[ifd:ifd + 2], order)):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            break
        tag, kind = int.from_bytes(tiff[entry:entry + 2], order), int.from_bytes(tiff[entry + 2:entry + 4], order)
        if tag in wanted:
            width = 2 if kind == 3 else 4  # SHORT or LONG
            found[tag] = int.from_bytes(tiff[entry + 8:entry + 8 + width], order)
    return found


def _tiff_size(tiff: bytes) -> tuple[int, int] | None:
    tags = _tiff_tags(tiff, {256, 257})
    return (tags[256], tags[257]) if len(tags) == 2 else None


def apply_exif_orientation(img: np.ndarray, data: np.ndarray | bytes) -> np.ndarray:
    """Rotate/flip as the file's EXIF orientation tag says (IMREAD_UNCHANGED does not, except for TIFF)."""
    orientation = _exif_orientation(data.tobytes() if isinstance(data, np.ndarray) else bytes(data))
    ops = {
        2: lambda a: cv2.flip(a, 1),
        3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
        4: lambda a: cv2.flip(a, 0),
        5: lambda a: cv2.flip(cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE), 1),
        6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
        7: lambda a: cv2.flip(cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE), 1),
        8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
    }
    return np.ascontiguousarray(ops[orientation](img)) if orientation in ops else img


def _exif_orientation(data: bytes) -> int:
    """Orientation tag (1-8) of a JPEG (APP1), PNG (eXIf) or WebP (EXIF chunk); 1 when absent or unreadable.

    TIFF is left out: OpenCV's TIFF decoder applies its orientation itself.
    """
    tiff = b''
    if data.startswith(b'\xff\xd8'):
        tiff = _jpeg_exif(data)
    elif data.startswith(b'\x89PNG\r\n\x1a\n'):
        tiff = _chunk(data, 8, b'eXIf', 'big', header=8, crc=4)
    elif data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        tiff = _chunk(data, 12, b'EXIF', 'little', header=8, crc=0, pad=True)
        if tiff.startswith(b'Exif\x00\x00'):  # some writers keep JPEG's prefix
            tiff = tiff[6:]
    value = _tiff_tags(tiff, {0x0112}).get(0x0112, 1)
    return value if 1 <= value <= 8 else 1


def _jpeg_exif(data: bytes) -> bytes:
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker, size = data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], 'big')
        if marker == 0xE1 and data[pos + 4:pos + 10] == b'Exif\x00\x00':
            return data[pos + 10:pos + 2 + size]
        if marker in (0xDA, 0xD9):
            break
        pos += 2 + size
    return b''


def _chunk(data: bytes, pos: int, name: bytes, order: str, header: int, crc: int, pad: bool = False) -> bytes:
    """The payload of the first chunk called ``name`` in a PNG (length first, big-endian) or RIFF (name first,
    little-endian) file, walking the chunks from ``pos``; empty if there is none."""
    while pos + header <= len(data):
        if order == 'big':
            length, kind = int.from_bytes(data[pos:pos + 4], 'big'), data[pos + 4:pos + 8]
        else:
            kind, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], 'little')
        if kind == name:
            return data[pos + header:pos + header + length]
        pos += header + length + crc + (length & 1 if pad else 0)
    return b''


def encode_image(img: np.ndarray, ext: str = '.png', params: list[int] | None = None,
                 texts: dict[str, str] | None = None, what: str = 'the image') -> bytes:
    """``img`` (8 or 16 bit, 1, 3 or 4 channels) as a file of type ``ext``, by OpenCV; ``texts``: PNG text chunks
    (``key: text``, as AUTOMATIC1111 writes its parameters). ``OSError`` naming ``what`` when it cannot be encoded."""
    try:
        ok, buf = cv2.imencode(ext, img, params or [])
    except cv2.error:
        ok = False
    if not ok:
        raise OSError(f'{what}: cannot encode a {img.dtype} image of shape {img.shape} as {ext}')
    data = buf.tobytes()
    for key, text in (texts or {}).items():
        data = add_text(data, key, text)
    return data


def write_image(path: str | os.PathLike, img: np.ndarray, params: list[int] | None = None,
                texts: dict[str, str] | None = None) -> Path:
    """Encode ``img`` by the path's extension and move it into place atomically (no partial files)."""
    path = Path(path)
    write_bytes_atomic(path, encode_image(img, path.suffix.lower() or '.png', params, texts, str(path)))
    return path


def _file_mode() -> int:
    """Permissions a plainly created file gets (mkstemp would leave 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f'.{path.name}.', suffix='.tmp', dir=path.parent)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def max_value(dtype: np.dtype) -> int:
    """Full scale of an image dtype we handle: 65535 for 16 bit, else 255."""
    return 65535 if dtype == np.uint16 else 255


def as_uint8(img: np.ndarray) -> np.ndarray:
    """An 8-bit view of the image for code that takes only that (face detectors)."""
    return img if img.dtype == np.uint8 else (img / 257).round().astype(np.uint8)


def split_channels(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A 3-channel BGR view of ``img`` and its alpha channel (None when it has none)."""
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), None
    if img.shape[2] == 4:
        return np.ascontiguousarray(img[:, :, :3]), img[:, :, 3]
    return img, None


def join_channels(bgr: np.ndarray, alpha: np.ndarray | None, gray: bool, single_channel: bool) -> np.ndarray:
    """Undo ``split_channels`` on a result: make it gray again if the input was, re-attach alpha
    (resized to the result) and return to one channel if the input had one."""
    if gray:
        g = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        if single_channel and alpha is None:
            return g
        bgr = cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)
    if alpha is None:
        return bgr
    h, w = bgr.shape[:2]
    if alpha.shape[:2] != (h, w):
        alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    if alpha.dtype != bgr.dtype:
        alpha = (alpha.astype(np.float32) * (max_value(bgr.dtype) / max_value(alpha.dtype))).round()
        alpha = alpha.astype(bgr.dtype)
    return np.dstack([bgr, alpha])

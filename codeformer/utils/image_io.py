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

IMAGE_EXTENSIONS = {'.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff'}
VIDEO_EXTENSIONS = {'.mp4', '.mov', '.avi', '.mkv', '.webm', '.m4v'}


class ImageReadError(OSError):
    """An input that cannot be read as an image; the message names the file and the cause."""


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


def read_image(path: str | os.PathLike) -> np.ndarray:
    """The image in ``path`` with its alpha channel and bit depth kept and EXIF orientation applied."""
    try:
        data = np.fromfile(os.fspath(path), dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f'{path}: cannot read file ({exc.strerror or exc})') from exc
    if data.size == 0:
        raise ImageReadError(f'{path}: empty file')
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


def apply_exif_orientation(img: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Rotate/flip as the file's EXIF orientation tag says (IMREAD_UNCHANGED does not)."""
    orientation = _exif_orientation(data.tobytes()[:65536])
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


def _exif_orientation(head: bytes) -> int:
    """Orientation tag (1-8) from a JPEG's APP1 segment, 1 when absent or unreadable."""
    if not head.startswith(b'\xff\xd8'):
        return 1
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker, size = head[pos + 1], int.from_bytes(head[pos + 2:pos + 4], 'big')
        if marker == 0xE1 and head[pos + 4:pos + 10] == b'Exif\x00\x00':
            return _tiff_orientation(head[pos + 10:pos + 2 + size])
        if marker in (0xDA, 0xD9):
            break
        pos += 2 + size
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    if len(tiff) < 8 or tiff[:2] not in (b'II', b'MM'):
        return 1
    order = 'little' if tiff[:2] == b'II' else 'big'
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 1
    for i in range(int.from_bytes(tiff[ifd:ifd + 2], order)):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            break
        if int.from_bytes(tiff[entry:entry + 2], order) == 0x0112:
            value = int.from_bytes(tiff[entry + 8:entry + 10], order)
            return value if 1 <= value <= 8 else 1
    return 1


def write_image(path: str | os.PathLike, img: np.ndarray, params: list[int] | None = None) -> Path:
    """Encode ``img`` by the path's extension and move it into place atomically (no partial files)."""
    path = Path(path)
    ext = path.suffix.lower() or '.png'
    try:
        ok, buf = cv2.imencode(ext, img, params or [])
    except cv2.error:
        ok = False
    if not ok:
        raise OSError(f'{path}: cannot encode a {img.dtype} image of shape {img.shape} as {ext}')
    write_bytes_atomic(path, buf.tobytes())
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


def is_gray(img: np.ndarray, tolerance: float = 2.0) -> bool:
    """True for single-channel images and colour images whose channels agree up to compression noise.

    Toned photos (sepia) differ between channels by more than the tolerance and count as colour.
    """
    if img.ndim == 2:
        return True
    bgr = img[:, :, :3].astype(np.int32)
    scale = 257 if img.dtype == np.uint16 else 1
    spread = max(np.abs(bgr[:, :, 0] - bgr[:, :, 1]).mean(), np.abs(bgr[:, :, 1] - bgr[:, :, 2]).mean())
    return spread <= tolerance * scale


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

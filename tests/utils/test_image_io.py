"""Image files as a user has them: unicode names, alpha, 16 bit, EXIF rotation, corrupt files."""
import os
import stat

import cv2
import numpy as np
import pytest

from codeformer.gray import is_gray
from codeformer.utils.image_io import (
    ImageReadError,
    file_kind,
    join_channels,
    read_image,
    split_channels,
    write_image,
)


def gradient(h=48, w=64, channels=3, dtype=np.uint8):
    top = 65535 if dtype == np.uint16 else 255
    x = np.linspace(0, top, w)[None, :, None] * np.ones((h, 1, channels))
    x[..., 0] = np.linspace(0, top, h)[:, None]
    return x.round().astype(dtype)


def test_unicode_path_alpha_and_16_bit_round_trip(tmp_path):
    for img, name in [(gradient(channels=4), 'Zoë_顔.png'), (gradient(dtype=np.uint16), 'deep.png'),
                      (gradient(dtype=np.uint16), 'deep.tif'), (gradient()[:, :, 0], 'gray.png')]:
        path = write_image(tmp_path / name, img)
        back = read_image(path)
        assert back.dtype == img.dtype and back.shape == img.shape
        np.testing.assert_array_equal(back, img)


def test_written_files_have_ordinary_permissions_and_no_leftovers(tmp_path):
    path = write_image(tmp_path / 'sub' / 'a.png', gradient())
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in path.parent.iterdir()] == ['a.png']


def test_failed_encode_leaves_nothing(tmp_path):
    with pytest.raises(OSError, match='cannot encode'):
        write_image(tmp_path / 'a.png', np.zeros((4, 4, 7), np.float64))
    assert list(tmp_path.iterdir()) == []


def test_corrupt_and_empty_files_name_the_file(tmp_path):
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'\xff\xd8\xff\xe0' + b'\x00' * 100)
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    for path in (bad, empty, tmp_path / 'missing.png'):
        with pytest.raises(ImageReadError, match=path.name):
            read_image(path)


def test_kind_by_content_not_extension(tmp_path):
    png = tmp_path / 'photo.JPEG'
    png.write_bytes(cv2.imencode('.png', gradient())[1].tobytes())
    webp = tmp_path / 'x.bin'
    webp.write_bytes(cv2.imencode('.webp', gradient())[1].tobytes())
    text = tmp_path / 'notes.txt'
    text.write_text('hello')
    assert file_kind(png) == 'image' and file_kind(webp) == 'image' and file_kind(text) is None
    assert file_kind(tmp_path / 'clip.MP4') == 'video'  # no content (missing): by extension


def _jpeg_with_orientation(img, orientation):
    data = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    tiff = b'MM\x00*\x00\x00\x00\x08' + b'\x00\x01' + b'\x01\x12\x00\x03\x00\x00\x00\x01' + \
        orientation.to_bytes(2, 'big') + b'\x00\x00' + b'\x00\x00\x00\x00'
    app1 = b'Exif\x00\x00' + tiff
    return data[:2] + b'\xff\xe1' + (len(app1) + 2).to_bytes(2, 'big') + app1 + data[2:]


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :40] = 255  # white left half
    path = tmp_path / 'rotated.jpg'
    path.write_bytes(_jpeg_with_orientation(img, 6))  # stored as is, shown rotated 90 degrees clockwise
    out = read_image(path)
    assert out.shape == (80, 40, 3)
    assert out[:40].mean() > 200 and out[40:].mean() < 50  # left half became the top


@pytest.mark.parametrize('fmt', ['png', 'webp', 'tiff', 'jpeg'])
def test_exif_orientation_of_every_format_that_carries_it(tmp_path, fmt):
    """Files written by Pillow, as cameras and editors write them (PNG eXIf chunk, WebP EXIF chunk, TIFF tag)."""
    from PIL import Image
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :40] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / f'rotated.{fmt}'
    Image.fromarray(img).save(path, exif=exif.tobytes(), **({'lossless': True} if fmt == 'webp' else {}))
    out = read_image(path)
    assert out.shape == (80, 40, 3)
    assert out[:40].mean() > 200 and out[40:].mean() < 50  # left half became the top


def test_gray_detection_and_channel_restoration():
    gray = np.repeat(gradient()[:, :, :1], 3, axis=2)
    sepia = gray.copy()
    sepia[..., 2] = np.clip(sepia[..., 2].astype(int) + 30, 0, 255)
    assert is_gray(gray) and is_gray(gray[:, :, 0]) and not is_gray(sepia) and not is_gray(gradient())
    bgr, alpha = split_channels(gradient(channels=4))
    assert bgr.shape[2] == 3 and alpha.shape == bgr.shape[:2]
    out = join_channels(cv2.resize(gradient(), (128, 96)), alpha, gray=True, single_channel=False)
    assert out.shape == (96, 128, 4) and (out[..., 0] == out[..., 2]).all()
    assert join_channels(gradient(), None, gray=True, single_channel=True).ndim == 2


def test_content_kind_reads_the_bytes_not_the_name(tmp_path):
    from codeformer.utils.image_io import content_kind, file_kind
    fake = tmp_path / 'notes.jpg'
    fake.write_text('not an image at all')
    real = write_image(tmp_path / 'real.png', gradient())
    assert file_kind(fake) == 'image' and content_kind(fake) is None  # the name alone says image
    assert content_kind(real) == 'image' and content_kind(tmp_path / 'missing.png') is None

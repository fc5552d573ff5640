"""Memory bounds through the real command line: images (and results) over the pixel limit are refused from their
headers, before anything is decoded, and the rest of the batch is done. Peak memory is measured in the child."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from codeformer.utils.image_io import DEFAULT_MAX_PIXELS, image_size, read_file, read_image, write_image
from tests.support.cli import ROOT, run_script
from tests.support.memory import run_measured

FACE = ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'
GIB = 1 << 30


def jpeg_claiming(width: int, height: int) -> bytes:
    """A tiny real JPEG whose frame header is rewritten to claim ``width`` x ``height`` (a decompression bomb)."""
    data = bytearray(cv2.imencode('.jpg', np.full((8, 8), 128, np.uint8))[1].tobytes())
    sof = data.index(b'\xff\xc0')
    data[sof + 5:sof + 9] = struct.pack('>HH', height, width)
    return bytes(data)


def png_of_zeros(width: int, height: int) -> bytes:
    """A real, valid gray PNG of ``width`` x ``height`` black pixels, compressed row by row (a few MB)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack('>I', len(payload)) + kind + payload + struct.pack('>I', zlib.crc32(kind + payload))
    packer = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte + pixels
    idat = b''.join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', idat) + chunk(b'IEND', b'')


def test_headers_give_the_size_without_decoding(tmp_path):
    bomb = jpeg_claiming(30000, 30000)
    assert len(bomb) < 1000 and image_size(bomb) == (30000, 30000)
    for ext in ('.png', '.jpg', '.webp', '.bmp', '.tif'):
        img = np.zeros((37, 53, 3), np.uint8)
        path = write_image(tmp_path / f'a{ext}', img)
        assert image_size(read_file(path)) == (53, 37), ext
    with pytest.raises(OSError, match='30000x30000 = 900.0 megapixels'):
        read_image(write_bytes(tmp_path / 'bomb.jpg', bomb))


@pytest.mark.slow  # two runs, peak memory measured
def test_bombs_are_refused_before_decoding_and_the_batch_goes_on(tmp_path, checkpoint):
    """Two 900 MP bombs (2.7 GB decoded as colour) beside a face: each is one error line, the face is done, and the
    run's peak memory is that of the same run without them (importing torch alone takes about 0.5 GB here)."""
    src, plain = tmp_path / 'in', tmp_path / 'plain'
    write_bytes(src / 'bomb.jpg', jpeg_claiming(30000, 30000))
    write_bytes(src / 'big.png', png_of_zeros(30000, 30000))
    assert (src / 'big.png').stat().st_size < 3_000_000
    for folder in (src, plain):
        write_image(folder / 'face.png', cv2.imread(str(FACE)))
    for aligned in (['--has_aligned'], []):
        peaks = []
        for folder in (plain, src):
            out = tmp_path / f'out{len(aligned)}{folder.name}'
            proc, peak = run_measured('inference_codeformer.py', *aligned, '-i', str(folder), '-o', str(out),
                                      '--model_path', str(checkpoint), '--detection_model', 'mtcnn', '--no_parse',
                                      '--device', 'cpu', env={'OMP_NUM_THREADS': '1'})
            peaks.append(peak)
            final = 'restored_faces/face.png' if aligned else 'final_results/face.png'
            assert (out / final).exists(), proc.stderr
        assert proc.returncode == 1, proc.stderr
        errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
        assert len(errors) == 2, proc.stderr
        assert any('bomb.jpg' in e and '30000x30000 = 900.0 megapixels' in e and 'limit' in e for e in errors)
        assert any('big.png' in e and '30000x30000' in e for e in errors)
        assert '1 done, 2 failed' in proc.stderr
        extra = peaks[1] - peaks[0]
        print(f'peak memory {"aligned" if aligned else "whole"}: {peaks[0] / 2**20:.0f} MiB without the bombs, '
              f'{peaks[1] / 2**20:.0f} MiB with them')
        assert extra < 100 * 2**20, f'the bombs added {extra / 2**20:.0f} MiB'
        assert peaks[1] < 1.5 * GIB


def write_bytes(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_max_pixels_changes_the_limit(tmp_path, checkpoint):
    write_image(tmp_path / 'in' / 'face.png', cv2.imread(str(FACE)))  # 512 x 512
    common = ['--has_aligned', '-i', 'in', '--model_path', str(checkpoint), '-q']
    small = run_script('inference_codeformer.py', *common, '--max_pixels', '100000', cwd=tmp_path)
    assert small.returncode == 1 and '512x512' in small.stderr and 'limit of 0.1' in small.stderr
    bad = run_script('inference_codeformer.py', *common, '--max_pixels', '0', cwd=tmp_path)
    assert bad.returncode == 2 and '--max_pixels' in bad.stderr


def test_upscale_is_bounded_and_a_result_over_the_limit_is_refused(tmp_path, checkpoint):
    photo = tmp_path / 'in' / 'wall.jpg'
    write_image(photo, np.full((1200, 1200, 3), 180, np.uint8))  # a 15 kB file of 1.4 MP
    common = ['-i', str(photo), '-o', str(tmp_path / 'out'), '--model_path', str(checkpoint), '--detection_model',
              'mtcnn', '--no_parse', '--device', 'cpu']
    hundred = run_script('inference_codeformer.py', *common, '-s', '100')
    assert hundred.returncode == 2 and 'must be in [1, 16], got 100' in hundred.stderr
    proc, peak = run_measured('inference_codeformer.py', *common, '-s', '16', env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 1, proc.stderr
    (error, ) = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert 'wall.jpg' in error and 'the result would be 19200x19200 = 368.6 megapixels' in error
    assert f'max_pixels={DEFAULT_MAX_PIXELS}' in error
    assert peak < 1.5 * GIB and not (tmp_path / 'out' / 'final_results').exists()

"""The restoration command as a user runs it, on real image files, in a subprocess."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from codeformer.utils.image_io import read_image, write_image
from tests.support.cli import ROOT, run_script
from tests.support.nets import save_checkpoint

FACE = ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'


def test_aligned_folder_with_a_corrupt_file(tmp_path, checkpoint):
    face = cv2.imread(str(FACE))
    src = tmp_path / 'faces'
    write_image(src / 'colour.png', face)
    write_image(src / 'deep.png', face.astype(np.uint16) * 257)
    write_image(src / 'gray.JPG', cv2.cvtColor(face, cv2.COLOR_BGR2GRAY))
    write_image(src / 'alpha.webp', np.dstack([face, np.full(face.shape[:2], 200, np.uint8)]),
                [cv2.IMWRITE_WEBP_QUALITY, 101])
    (src / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0garbage')
    (src / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    proc = run_script('inference_codeformer.py', '-w', '0.7', '--has_aligned', '--input_path', str(src),
                      '-o', str(out), '--model_path', str(checkpoint), '--batch_size', '3', '--device', 'cpu',
                      '--report', str(tmp_path / 'report.json'))
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'broken.jpg' in errors[0] and 'decode' in errors[0]
    written = sorted(p.name for p in (out / 'restored_faces').iterdir())
    assert written == ['alpha.png', 'colour.png', 'deep.png', 'gray.png']
    colour = read_image(out / 'restored_faces' / 'colour.png')
    assert colour.shape == (64, 64, 3) and colour.dtype == np.uint8  # the network's own size
    assert read_image(out / 'restored_faces' / 'deep.png').dtype == np.uint16
    gray = read_image(out / 'restored_faces' / 'gray.png')
    assert gray.ndim == 2
    alpha = read_image(out / 'restored_faces' / 'alpha.png')
    assert alpha.shape == (64, 64, 4) and (alpha[..., 3] == 200).all()
    report = (tmp_path / 'report.json').read_text()
    assert 'broken.jpg' in report and 'colour.png' in report


def test_default_layout_suffix_skip_existing_and_w(tmp_path, checkpoint):
    write_image(tmp_path / 'in' / 'face.png', cv2.imread(str(FACE)))
    common = ['--has_aligned', '--input_path', 'in', '--model_path', str(checkpoint), '--suffix', 'v1', '-q']
    first = run_script('inference_codeformer.py', '-w', '1', *common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    target = tmp_path / 'results' / 'in_1.0' / 'restored_faces' / 'face_v1.png'
    result_w1 = read_image(target)
    target.write_bytes(b'sentinel')
    again = run_script('inference_codeformer.py', '-w', '1', '--skip_existing', *common, cwd=tmp_path)
    assert again.returncode == 0 and target.read_bytes() == b'sentinel'
    zero = run_script('inference_codeformer.py', '-w', '0', *common, cwd=tmp_path)
    assert zero.returncode == 0, zero.stderr
    result_w0 = read_image(tmp_path / 'results' / 'in_0.0' / 'restored_faces' / 'face_v1.png')
    assert np.abs(result_w0.astype(int) - result_w1.astype(int)).mean() > 1


def test_missing_weights_and_bad_arguments_exit_2(tmp_path):
    write_image(tmp_path / 'face.png', np.zeros((32, 32, 3), np.uint8))
    proc = run_script('inference_codeformer.py', '--has_aligned', '--input_path', str(tmp_path / 'face.png'),
                      env={'CODEFORMER_WEIGHTS_DIR': str(tmp_path / 'w')}, cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) <= 3 and 'codeformer.pth' in proc.stderr and 'http://127.0.0.1:9' in proc.stderr
    assert not (tmp_path / 'results').exists()
    bad_w = run_script('inference_codeformer.py', '-w', '2', '--has_aligned', cwd=tmp_path)
    assert bad_w.returncode == 2 and 'must be in [0, 1]' in bad_w.stderr
    missing = run_script('inference_codeformer.py', '--has_aligned', '--input_path', 'nope', cwd=tmp_path)
    assert missing.returncode == 2 and 'nope: no such file' in missing.stderr
    # the library names its arguments (device='cuda:7'); the command line says its own options instead
    for extra, line in [(['--device', 'cuda:7'], 'error: --device cuda:7: CUDA is not available on this machine'),
                        (['--detection_model', 'nope'], 'error: --detection_model nope: unknown detector; known: ')]:
        proc = run_script('inference_codeformer.py', '-i', str(tmp_path / 'face.png'), *extra, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.startswith(line) and proc.stderr.count('\n') == 1, proc.stderr


def test_colorization_gives_colour_from_gray(tmp_path, checkpoint):
    gray = cv2.cvtColor(cv2.imread(str(FACE)), cv2.COLOR_BGR2GRAY)
    write_image(tmp_path / 'gray' / 'old.png', gray)
    proc = run_script('inference_colorization.py', '--input_path', 'gray', '--model_path', str(checkpoint), '-q',
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = read_image(tmp_path / 'results' / 'gray' / 'old.png')
    assert out.ndim == 3 and out.shape[2] == 3


def test_inpainting_keeps_unpainted_pixels_and_fills_white_or_masked_ones(tmp_path, checkpoint):
    face = cv2.resize(cv2.imread(str(FACE)), (64, 64), interpolation=cv2.INTER_AREA)
    face = np.clip(face, 0, 254)  # no accidental pure white
    painted = face.copy()
    cv2.line(painted, (10, 20), (50, 30), (255, 255, 255), 4)
    write_image(tmp_path / 'masked' / 'a.png', painted)
    write_image(tmp_path / 'plain' / 'a.png', face)
    region = np.zeros((64, 64), np.uint8)
    region[40:50, 20:44] = 255
    write_image(tmp_path / 'masks' / 'a.png', region)
    ckpt = ['--model_path', str(checkpoint), '-q']
    white = run_script('inference_inpainting.py', '--input_path', 'masked', *ckpt, cwd=tmp_path)
    masked = run_script('inference_inpainting.py', '--input_path', 'plain', '--mask', 'masks', *ckpt, cwd=tmp_path)
    assert white.returncode == 0 and masked.returncode == 0, white.stderr + masked.stderr
    for out_dir, source, fill in [('masked', painted, (painted == 255).all(axis=2)), ('plain', face, region > 0)]:
        out = read_image(tmp_path / 'results' / out_dir / 'a.png')
        assert (out[~fill] == source[~fill]).all()
        assert (out[fill] != source[fill]).any(axis=1).mean() > 0.5
    # the command goes through the library's inpainting: the same bytes from a program that calls it
    from codeformer.inpainting import inpaint_faces
    from codeformer.restorer import FaceRestorer
    restorer = FaceRestorer('inpainting', model_path=str(checkpoint), device='cpu', progress=False)
    for out_dir, done in zip(['masked', 'plain'], inpaint_faces(restorer, [painted, face], [None, region > 0])):
        assert np.array_equal(read_image(tmp_path / 'results' / out_dir / 'a.png'), done.image)


def test_whole_images_official_layout_alpha_and_a_corrupt_file(tmp_path, checkpoint):
    from skimage import data
    photo = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    src = tmp_path / 'photos'
    write_image(src / 'portrait.JPEG', photo, [cv2.IMWRITE_JPEG_QUALITY, 95])
    write_image(src / 'with_alpha.webp', np.dstack([photo, np.full(photo.shape[:2], 90, np.uint8)]),
                [cv2.IMWRITE_WEBP_QUALITY, 101])
    write_image(src / 'empty_sky.png', np.full((60, 80, 3), (210, 170, 120), np.uint8))
    (src / 'damaged.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 64)
    out = tmp_path / 'out'
    proc = run_script('inference_codeformer.py', '--input_path', str(src), '-o', str(out), '-s', '1',
                      '--model_path', str(checkpoint), '--detection_model', 'mtcnn', '--no_parse', '--suffix', 'x',
                      '--report', str(tmp_path / 'r.json'), env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 1, proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith('error:')] == [
        line for line in proc.stderr.splitlines() if 'damaged.png' in line]
    assert sorted(p.name for p in (out / 'final_results').iterdir()) == [
        'empty_sky_x.png', 'portrait_x.png', 'with_alpha_x.png']
    assert sorted(p.name for p in (out / 'cropped_faces').iterdir()) == ['portrait_00.png', 'with_alpha_00.png']
    assert sorted(p.name for p in (out / 'restored_faces').iterdir()) == ['portrait_00_x.png', 'with_alpha_00_x.png']
    final = read_image(out / 'final_results' / 'with_alpha_x.png')
    assert final.shape == (512, 512, 4) and (final[..., 3] == 90).all()
    import json
    report = {Path(r['input']).name: r for r in json.loads((tmp_path / 'r.json').read_text())}
    assert len(report['portrait.JPEG']['info']['detections']) == 1 and 'damaged' in report['damaged.png']['error']


@pytest.mark.slow  # the full-size network, run until interrupted
def test_ctrl_c_stops_a_batch_cleanly_and_counts_what_was_not_started(tmp_path):
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from codeformer.archs import CodeFormer
    ckpt = save_checkpoint(CodeFormer(), tmp_path / 'full.pth')  # full size: seconds per face, time to interrupt
    face = cv2.imread(str(FACE))
    for i in range(6):
        write_image(tmp_path / 'in' / f'face{i}.png', face)
    out = tmp_path / 'out' / 'restored_faces'
    proc = subprocess.Popen([sys.executable, str(ROOT / 'inference_codeformer.py'), '--has_aligned', '-i', 'in',
                             '-o', 'out', '--model_path', str(ckpt), '--report', 'r.json'], cwd=tmp_path,
                            stderr=subprocess.PIPE,
                            text=True, env={**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while not (out / 'face0.png').exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and 'Traceback' not in err, err
    # the line saying so starts a line of its own, not the end of the progress bar
    assert any(line.startswith('stopped: ') for line in err.split('\n')), err
    written = sorted(p.name for p in out.iterdir())
    assert written[0] == 'face0.png' and len(written) < 6 and all(not n.startswith('.') for n in written)
    assert read_image(out / 'face0.png').shape == (512, 512, 3)
    # the summary and the report count what was done and what was not started; nothing is called done that is not
    summary = [line for line in err.split('\n') if ' done, ' in line][-1]
    assert summary.startswith(f'{len(written)} done, 0 failed, {6 - len(written)} not started; '), err
    records = json.loads((tmp_path / 'r.json').read_text())
    assert [Path(r['input']).name for r in records] == [f'face{i}.png' for i in range(6)]
    for r in records:
        done = Path(r['input']).name in written
        assert r['status'] == ('done' if done else 'not started'), r
        assert bool(r.get('outputs')) == done and 'error' not in r, r


def test_exif_orientation_of_png_and_webp_photos_is_applied(tmp_path, checkpoint):
    from PIL import Image
    stored = np.full((512, 640, 3), 40, np.uint8)
    stored[:, :320] = 230  # the left half, which is the top once turned upright
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    for fmt, extra in [('png', {}), ('webp', {'lossless': True})]:
        Image.fromarray(stored).save(tmp_path / f'turned_{fmt}.{fmt}', exif=exif.tobytes(), **extra)
    proc = run_script('inference_codeformer.py', '-i', str(tmp_path), '-o', str(tmp_path / 'out'), '-s', '1',
                      '--model_path', str(checkpoint), '--detection_model', 'mtcnn', '--no_parse', '-q',
                      env={'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stderr
    for fmt in ('png', 'webp'):
        final = read_image(tmp_path / 'out' / 'final_results' / f'turned_{fmt}.png')
        assert final.shape == (640, 512, 3), fmt
        assert final[:300].mean() > 200 and final[340:].mean() < 60, fmt


@pytest.mark.slow  # two runs of the script
def test_precision_option(tmp_path, checkpoint):
    """--precision bf16 runs the convolutions in bfloat16 (the code choice stays fp32): close to fp32, not equal."""
    write_image(tmp_path / 'in' / 'face.png', cv2.imread(str(FACE)))
    faces = {}
    for precision in ('fp32', 'bf16'):
        proc = run_script('inference_codeformer.py', '--has_aligned', '-i', str(tmp_path / 'in'), '-o',
                          str(tmp_path / precision), '--model_path', str(checkpoint), '--device', 'cpu',
                          '--precision', precision, '-q')
        assert proc.returncode == 0, proc.stderr
        faces[precision] = read_image(tmp_path / precision / 'restored_faces' / 'face.png').astype(int)
    diff = np.abs(faces['fp32'] - faces['bf16'])
    assert 0 < diff.mean() < 8
    proc = run_script('inference_codeformer.py', '--has_aligned', '-i', str(tmp_path / 'in'), '--precision', 'fp8')
    assert proc.returncode == 2 and 'fp8' in proc.stderr


@pytest.mark.slow  # the full-size network, three runs of the script
def test_w_0_half_and_1_give_the_official_networks_faces(tmp_path):
    """``-w 0`` is w 0 (it once fell back to the default 0.5): the golden input, written as a 16-bit PNG so that the
    file holds it to 1/65535, gives the official network's recorded output at each w, and not the other w's."""
    import torch

    from codeformer.archs import CodeFormer
    from tests.support.golden import golden_input, golden_weights, recorded

    net = CodeFormer()
    checkpoint = tmp_path / 'golden.pth'
    torch.save({'params_ema': golden_weights(net)}, checkpoint)
    del net
    rgb = (golden_input()[0].permute(1, 2, 0).numpy() + 1) / 2
    write_image(tmp_path / 'in' / 'golden.png', np.round(rgb[:, :, ::-1] * 65535).astype(np.uint16))

    def official(w: str) -> np.ndarray:  # the recording (every 4th pixel, RGB in [-1, 1]) in 8-bit BGR levels
        out = np.clip(recorded(f'restoration_w{w}_adain1_out')[0], -1, 1)
        return ((out + 1) / 2 * 255).transpose(1, 2, 0)[:, :, ::-1]

    def psnr(a: np.ndarray, b: np.ndarray) -> float:
        return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))

    for w in ('0', '0.5', '1'):
        proc = run_script('inference_codeformer.py', '-w', w, '--has_aligned', '-i', str(tmp_path / 'in'), '-o',
                          str(tmp_path / w), '--model_path', str(checkpoint), '--device', 'cpu', '--precision',
                          'fp32', '-q')
        assert proc.returncode == 0, proc.stderr
        face = read_image(tmp_path / w / 'restored_faces' / 'golden.png')
        assert face.dtype == np.uint16
        ours = face[::4, ::4].astype(np.float64) / 257
        assert psnr(ours, official(w)) >= 60, w
        for other in {'0', '0.5', '1'} - {w}:
            assert psnr(ours, official(other)) < 40, (w, other)


def test_face_upsample_alone_without_real_esrgan_weights_stops_before_any_work(tmp_path, checkpoint):
    """``--face_upsample`` without ``--bg_upsampler`` needs Real-ESRGAN (it once did nothing, silently): without its
    weights, one line that names the file, exit code 2, nothing written."""
    from skimage import data
    write_image(tmp_path / 'in' / 'photo.png', np.ascontiguousarray(data.astronaut()[:, :, ::-1]))
    proc = run_script('inference_codeformer.py', '-i', 'in', '-o', 'out', '--face_upsample', '--model_path',
                      str(checkpoint), '--detection_model', 'mtcnn', '--no_parse', '-q', cwd=tmp_path,
                      env={'CODEFORMER_WEIGHTS_DIR': str(tmp_path / 'weights')})
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1 and 'RealESRGAN_x2plus.pth' in errors[0], proc.stderr
    assert not (tmp_path / 'out').exists() or not any((tmp_path / 'out').rglob('*.png'))


@pytest.mark.slow  # the full-size Real-ESRGAN network on a face, two runs of the script
def test_face_upsample_alone_upsamples_the_faces_with_real_esrgan(tmp_path, checkpoint):
    """As the official script: Real-ESRGAN of its own for the faces; the background stays the bilinear resize."""
    from skimage import data

    from tests.support.nets import realesrgan_weights
    realesrgan_weights(tmp_path / 'weights')
    write_image(tmp_path / 'in' / 'photo.png', np.ascontiguousarray(data.astronaut()[:, :, ::-1]))
    finals = {}
    for name, flags in (('plain', []), ('faces', ['--face_upsample'])):
        proc = run_script('inference_codeformer.py', '-i', 'in', '-o', name, *flags, '--model_path', str(checkpoint),
                          '--detection_model', 'mtcnn', '--no_parse', '--report', f'{name}.json', '-q', cwd=tmp_path,
                          env={'CODEFORMER_WEIGHTS_DIR': str(tmp_path / 'weights')})
        assert proc.returncode == 0, proc.stderr
        finals[name] = read_image(tmp_path / name / 'final_results' / 'photo.png').astype(int)
    import json
    record = json.loads((tmp_path / 'faces.json').read_text())[0]
    assert 'face_upsample' in record['info']['seconds']
    face = record['info']['detections'][0]['box']  # in input pixels; the output is x2
    x0, y0, x1, y1 = (round(2 * v) for v in face)
    inside = np.abs(finals['faces'][y0:y1, x0:x1] - finals['plain'][y0:y1, x0:x1]).mean()
    assert inside > 5, inside
    assert np.array_equal(finals['faces'][900:], finals['plain'][900:])  # far from the face: the same background

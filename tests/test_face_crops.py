"""The preprocessing scripts on a real photograph: crop_align_face.py, prepare_data.py, inference_vqgan.py."""
import json

import cv2
import numpy as np
import torch

from codeformer.alignment import invert, template
from codeformer.archs import VQAutoEncoder
from codeformer.utils.image_io import read_image, write_image
from tests.support.cli import run_script
from tests.support.nets import save_checkpoint


def photos(folder):
    from skimage import data
    photo = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    write_image(folder / 'astronaut.jpg', photo)
    write_image(folder / 'sky.png', np.full((200, 300, 3), (200, 160, 120), np.uint8))
    (folder / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\nnope')
    return photo


def test_crop_align_puts_eyes_on_the_template_and_the_sidecar_maps_back(tmp_path):
    photo = photos(tmp_path / 'in')
    proc = run_script('scripts/crop_align_face.py', '-i', str(tmp_path / 'in'), '-o', str(tmp_path / 'out'), '-q')
    assert proc.returncode == 1 and proc.stderr.count('error:') == 1 and 'broken.png' in proc.stderr
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['astronaut_00.json', 'astronaut_00.png']
    crop = read_image(tmp_path / 'out' / 'astronaut_00.png')
    meta = json.loads((tmp_path / 'out' / 'astronaut_00.json').read_text())
    matrix = np.array(meta['affine_matrix'])
    assert crop.shape == (512, 512, 3) and meta['size'] == 512
    # the detected eyes go to the template's eyes
    eyes = np.array(meta['landmarks'])[:2]
    np.testing.assert_allclose(eyes @ matrix[:, :2].T + matrix[:, 2], template()[:2], atol=12)
    # the inverse matrix puts the crop back where the face is in the photo
    back = cv2.warpAffine(crop, invert(matrix), photo.shape[1::-1])
    x0, y0, x1, y1 = np.array(meta['box']).astype(int)
    diff = np.abs(back[y0 + 10:y1 - 10, x0 + 10:x1 - 10].astype(int) - photo[y0 + 10:y1 - 10, x0 + 10:x1 - 10])
    assert diff.mean() < 8


def test_prepare_data_skips_small_faces_and_writes_no_sidecars(tmp_path):
    photo = photos(tmp_path / 'raw')
    write_image(tmp_path / 'raw' / 'tiny.png', cv2.resize(photo, (128, 128), interpolation=cv2.INTER_AREA))
    proc = run_script('scripts/prepare_data.py', '--input_dir', str(tmp_path / 'raw'), '--output_dir',
                      str(tmp_path / 'set'), '--min_size', '60', '--size', '256', '-q')
    assert proc.returncode == 1, proc.stderr  # the broken file
    names = sorted(p.name for p in (tmp_path / 'set').iterdir())
    assert names == ['astronaut_00.png']  # the tiny face (~25 px wide) was skipped
    assert read_image(tmp_path / 'set' / names[0]).shape == (256, 256, 3)


def test_inference_vqgan_reconstructs_faces(tmp_path):
    torch.manual_seed(0)
    net = VQAutoEncoder(64, 32, codebook_size=16, attn_resolutions=(2, ))
    ckpt = save_checkpoint(net, tmp_path / 'vqgan.pth')
    write_image(tmp_path / 'faces' / 'a.png', np.full((80, 80, 3), 90, np.uint8))
    proc = run_script('scripts/inference_vqgan.py', '--input_path', str(tmp_path / 'faces'), '--model_path',
                      str(ckpt), '--size', '64', '-o', str(tmp_path / 'out'), '-q')
    assert proc.returncode == 0, proc.stderr
    assert read_image(tmp_path / 'out' / 'a.png').shape == (64, 64, 3)

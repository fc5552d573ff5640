"""FFHQBlindDataset / FFHQBlindJointDataset on a few small faces written to a folder and to an lmdb."""
import random

import cv2
import numpy as np
import pytest
import torch

import codeformer  # noqa: F401  isort: skip
from basicsr.utils.lmdb_util import make_lmdb_from_imgs
from basicsr.utils.registry import DATASET_REGISTRY

from codeformer.data import FFHQBlindDataset, FFHQBlindJointDataset
from codeformer.data.degradations import LARGE, SMALL, DegradationRanges, brush_stroke_mask, degrade, jpeg

SIZE = 64


def seed(n: int = 0) -> None:
    random.seed(n)
    np.random.seed(n)
    torch.manual_seed(n)


@pytest.fixture(scope='module')
def faces(tmp_path_factory):
    """Three face-like images of different sizes (one needs resizing), plus an lmdb of the same files."""
    root = tmp_path_factory.mktemp('faces')
    folder = root / 'faces'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i, size in enumerate((64, 96, 64)):
        img = np.full((size, size, 3), rng.integers(20, 120, 3), np.uint8)
        c = size // 2
        skin = tuple(int(v) for v in rng.integers(120, 230, 3))
        cv2.ellipse(img, (c, c), (size // 3, size * 2 // 5), 0, 0, 360, skin, -1)
        cv2.circle(img, (c - size // 8, c - size // 10), 3, (20, 20, 20), -1)
        cv2.circle(img, (c + size // 8, c - size // 10), 3, (20, 20, 20), -1)
        cv2.imwrite(str(folder / f'{i:05d}.png'), img)
    names = sorted(p.name for p in folder.iterdir())
    lmdb = root / 'faces.lmdb'
    make_lmdb_from_imgs(str(folder), str(lmdb), names, [n[:-4] for n in names], multiprocessing_read=False,
                        map_size=1 << 24)
    return folder, lmdb


def options(folder, **extra):
    opt = {'name': 't', 'type': 'FFHQBlindDataset', 'phase': 'train', 'dataroot_gt': str(folder),
           'io_backend': {'type': 'disk'}, 'out_size': SIZE, 'mean': [0.5] * 3, 'std': [0.5] * 3, 'use_hflip': False,
           'blur_kernel_size': 11}
    opt.update(extra)
    return opt


def test_registered_in_basicsr():
    assert DATASET_REGISTRY.get('FFHQBlindDataset') is FFHQBlindDataset
    assert DATASET_REGISTRY.get('FFHQBlindJointDataset') is FFHQBlindJointDataset


def test_items_are_normalised_faces_at_out_size(faces):
    seed()
    ds = FFHQBlindDataset(options(faces[0]))
    assert len(ds) == 3 and ds.names == ['00000', '00001', '00002']
    for i in range(3):
        item = ds[i]
        for key in ('gt', 'lq'):
            assert item[key].shape == (3, SIZE, SIZE) and item[key].dtype == torch.float32
            assert -1.0 <= item[key].min() and item[key].max() <= 1.0
        assert item['name'] == ds.names[i] and item['hflip'] is False
        assert not torch.equal(item['gt'], item['lq'])  # degraded


def test_gt_is_rgb_of_the_file(faces):
    ds = FFHQBlindDataset(options(faces[0], degrade=False))
    bgr = cv2.imread(str(faces[0] / '00000.png')).astype(np.float32) / 255
    expected = torch.from_numpy(bgr[:, :, ::-1].copy()).permute(2, 0, 1) * 2 - 1
    item = ds[0]
    torch.testing.assert_close(item['gt'], expected)
    assert torch.equal(item['lq'], item['gt'])  # stage I: no corruption


def test_lmdb_reads_the_same_faces(faces):
    folder_ds = FFHQBlindDataset(options(faces[0], degrade=False))
    lmdb_ds = FFHQBlindDataset(options(faces[1], degrade=False, io_backend={'type': 'lmdb'}))
    assert lmdb_ds.names == folder_ds.names
    for i in range(3):
        torch.testing.assert_close(lmdb_ds[i]['gt'], folder_ds[i]['gt'])


def test_missing_folder_and_empty_folder_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match='not a folder'):
        FFHQBlindDataset(options(tmp_path / 'nope'))
    with pytest.raises(FileNotFoundError, match='no images'):
        FFHQBlindDataset(options(tmp_path))


def test_latent_codes_follow_the_flip(faces, tmp_path):
    table = {'orig': {f'{i:05d}': torch.arange(4) + 10 * i for i in range(3)},
             'hflip': {f'{i:05d}': torch.arange(4) + 10 * i + 100 for i in range(3)}}
    torch.save(table, tmp_path / 'latent.pth')
    ds = FFHQBlindDataset(options(faces[0], degrade=False, use_hflip=True, latent_gt_path=str(tmp_path / 'latent.pth')))
    unflipped = FFHQBlindDataset(options(faces[0], degrade=False))[1]['gt']
    seen = set()
    seed(3)
    for _ in range(20):
        item = ds[1]
        key = 'hflip' if item['hflip'] else 'orig'
        assert torch.equal(item['latent_gt'], table[key]['00001'])
        assert torch.equal(item['gt'], unflipped.flip(-1) if item['hflip'] else unflipped)
        seen.add(key)
    assert seen == {'orig', 'hflip'}


def test_latent_file_without_a_face_is_rejected(faces, tmp_path):
    torch.save({'orig': {'00000': torch.zeros(4)}, 'hflip': {'00000': torch.zeros(4)}}, tmp_path / 'latent.pth')
    with pytest.raises(KeyError, match='no codes for 2 training faces'):
        FFHQBlindDataset(options(faces[0], latent_gt_path=str(tmp_path / 'latent.pth')))


def test_joint_dataset_gives_small_and_large_degradations(faces):
    seed(1)
    ds = FFHQBlindJointDataset(options(faces[0], type='FFHQBlindJointDataset'))
    assert ds.ranges == SMALL.__class__.from_opt({'blur_kernel_size': 11}) and ds.ranges_large.jpeg_range == (30, 80)
    err_small, err_large = [], []
    for _ in range(12):
        for i in range(3):
            item = ds[i]
            err_small.append((item['lq_small'] - item['gt']).abs().mean().item())
            err_large.append((item['lq_large'] - item['gt']).abs().mean().item())
    assert np.mean(err_large) > np.mean(err_small)


def test_degrade_keeps_size_and_range():
    seed(2)
    img = np.random.rand(SIZE, SIZE, 3).astype(np.float32)
    for ranges in (SMALL, LARGE, DegradationRanges(downsample_range=(30, 40), blur_kernel_size=11)):
        out = degrade(img, ranges)
        assert out.shape == img.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1


def test_jpeg_takes_integer_quality_and_rounds_trip():
    img = np.full((16, 16, 3), 0.5, np.float32)
    assert np.abs(jpeg(img, 95) - img).max() < 2 / 255


def test_ranges_from_options_read_the_suffix():
    opt = {'blur_sigma_large': [2, 3], 'jpeg_range': [70, 90], 'kernel_list': ['iso']}
    large = DegradationRanges.from_opt(opt, '_large', base=LARGE)
    assert large.blur_sigma == (2, 3) and large.jpeg_range == LARGE.jpeg_range and large.kernel_prob == (1.0, )
    assert DegradationRanges.from_opt(opt).jpeg_range == (70, 90)


def test_brush_strokes_paint_the_input_white(faces):
    seed(4)
    ds = FFHQBlindDataset(options(faces[0], brush_stroke={'max_strokes': 3, 'width_range': [0.05, 0.1]}))
    item = ds[0]
    white = (item['lq'] == 1.0).all(dim=0)
    assert 0 < white.float().mean() < 0.9
    assert torch.equal(item['lq'][:, ~white], item['gt'][:, ~white])  # untouched elsewhere: no degradation


def test_brush_stroke_mask_scales_with_the_image():
    seed(5)
    for size in (64, 512):
        covered = np.mean([brush_stroke_mask(size, size).mean() for _ in range(20)])
        assert 0.005 < covered < 0.5


def test_gray_and_colour_jitter(faces):
    seed(6)
    gray = FFHQBlindDataset(options(faces[0], gray_prob=1.0))[0]['lq']
    assert torch.allclose(gray[0], gray[1], atol=1e-6) and torch.allclose(gray[1], gray[2], atol=1e-6)
    plain = options(faces[0], degrade=False)
    base = FFHQBlindDataset(plain)[0]['lq']
    shifted = FFHQBlindDataset({**plain, 'color_jitter_prob': 1.0, 'color_jitter_shift': 20})[0]['lq']
    offsets = (shifted - base).mean(dim=(1, 2)).abs()
    assert offsets.max() > 0 and offsets.max() <= 2 * 20 / 255 + 1e-3
    jittered = FFHQBlindDataset({**plain, 'color_jitter_pt_prob': 1.0})[0]['lq']
    assert not torch.equal(jittered, base) and jittered.min() >= -1 and jittered.max() <= 1

"""Real-ESRGAN upsampling: the same pictures as realesrgan's ``RealESRGANer`` (the official script's), tile by tile,
for the background and the faces; small networks with the released layout's blocks, saved by the tests."""
import contextlib
import io

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet

from codeformer.background import RealESRGANUpsampler, tile_boxes, tiles_per_call
from codeformer.enhancer import FaceEnhancer
from codeformer.restorer import FaceRestorer
from codeformer.utils.checkpoint import CheckpointError
from tests.support.nets import SMALL_RRDBNET, save_checkpoint, small_codeformer, small_rrdbnet


@pytest.fixture(scope='module')
def rrdb_file(tmp_path_factory):
    return save_checkpoint(small_rrdbnet(), tmp_path_factory.mktemp('rrdb') / 'rrdb.pth')


def ours(path, tile: int) -> RealESRGANUpsampler:
    return RealESRGANUpsampler(torch.device('cpu'), tile=tile, model=RRDBNet(**SMALL_RRDBNET), model_path=path)


def official(path, tile: int):
    from realesrgan import RealESRGANer
    return RealESRGANer(scale=2, model_path=str(path), model=RRDBNet(**SMALL_RRDBNET), tile=tile, tile_pad=40,
                        pre_pad=0, half=False, device=torch.device('cpu'))


def photo(height: int, width: int) -> np.ndarray:
    from skimage import data
    return cv2.resize(np.ascontiguousarray(data.astronaut()[:, :, ::-1]), (width, height),
                      interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize('height,width,tile,outscale', [
    (61, 87, 32, 2),   # odd sides (padded by reflection to even), many tiles, edge tiles of other sizes
    (64, 48, 0, 1),    # tile 0: the whole image at once; outscale 1: x2, then Lanczos back down
    (50, 70, 100, 3),  # one tile larger than the image; outscale 3
    (40, 52, 16, 4),   # tiles smaller than their padding
])
def test_same_picture_as_realesrgans_upsampler(rrdb_file, height, width, tile, outscale):
    img = photo(height, width)
    with contextlib.redirect_stdout(io.StringIO()):  # RealESRGANer prints a line per tile
        theirs = official(rrdb_file, tile).enhance(img, outscale=outscale)[0]
    mine = ours(rrdb_file, tile).enhance(img, outscale=outscale)
    assert mine.shape == theirs.shape == (int(height * outscale), int(width * outscale), 3)
    assert mine.dtype == np.uint8
    diff = np.abs(mine.astype(int) - theirs)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01, (diff.max(), (diff > 0).mean())
    assert np.abs(mine.astype(int) - cv2.resize(img, mine.shape[1::-1])).mean() > 10  # the network's own picture


def test_16_bit_and_one_channel_images_keep_their_kind(rrdb_file):
    up = ours(rrdb_file, 32)
    img = photo(48, 64)
    eight = up.enhance(img, outscale=2)
    deep = up.enhance(img.astype(np.uint16) * 257, outscale=2)
    assert deep.shape == (96, 128, 3) and deep.dtype == np.uint16
    assert np.abs(deep / 257.0 - eight).max() <= 1
    gray = up.enhance(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), outscale=3)
    assert gray.shape == (144, 192) and gray.dtype == np.uint8
    with pytest.raises(ValueError, match='H x W x 3'):
        up.enhance(np.zeros((8, 8, 4), np.uint8))


def test_tiles_cover_the_image_once_each():
    for height, width, tile, pad in [(61, 87, 32, 40), (400, 400, 400, 40), (801, 399, 400, 40), (10, 10, 0, 40)]:
        covered = np.zeros((height, width), int)
        for (x0, y0, x1, y1), (ox0, oy0, ox1, oy1) in tile_boxes(height, width, tile, pad):
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
            covered[y0 + oy0:y0 + oy1, x0 + ox0:x0 + ox1] += 1
            if tile:  # the context around a tile is at most ``pad``, cut at the image's edge
                assert ox0 == min(pad, x0 + ox0) and (x1 - x0) - ox1 == min(pad, width - (x0 + ox1))
        assert (covered == 1).all()


def test_tiles_share_a_call_on_a_gpu_only():
    assert tiles_per_call(torch.device('cpu'), torch.float32, 480 * 480) == 1
    gib = 2**30
    assert tiles_per_call(torch.device('cuda'), torch.float16, 480 * 480, free_bytes=80 * gib) == 16
    assert tiles_per_call(torch.device('cuda'), torch.float16, 480 * 480, free_bytes=gib) == 2
    assert tiles_per_call(torch.device('cuda'), torch.float32, 480 * 480, free_bytes=gib // 10) == 1


def test_a_file_of_another_network_is_refused_with_its_name(tmp_path):
    path = save_checkpoint(RRDBNet(**{**SMALL_RRDBNET, 'num_block': 2}), tmp_path / 'other.pth')
    with pytest.raises(CheckpointError, match='other.pth: not a Real-ESRGAN x2 checkpoint'):
        ours(path, 32)


def test_enhancer_uses_it_for_background_and_faces(rrdb_file):
    """The background is the network's picture, tile by tile, not a plain resize; the restored face goes through the
    network too before it is pasted."""
    img = photo(256, 256)
    up = ours(rrdb_file, 32)
    seen = []  # the size of every input the network is called on
    up.net.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape[2:])))
    restorer = FaceRestorer('restoration', net=small_codeformer(), device='cpu')
    enhancer = FaceEnhancer(restorer, upscale=2, detection_model='mtcnn', use_parse=False, bg_upsampler=up,
                            face_upsample=True)
    cropped, restored, final = enhancer.enhance(img)
    assert len(restored) == 1 and final.shape == (1024, 1024, 3)  # 256 px enlarged to 512 first, as the official
    # every 32 px tile of the photo (256 px: 8 x 8 tiles) and of the restored face (the small network's 64 px: 2 x 2)
    # went through the network
    assert len(seen) == 8 * 8 + 2 * 2
    # far from the face (the bottom rows), the result is the network's output for the photo, enlarged to the working
    # size, and not what a plain resize of the photo gives
    seen.clear()
    network = cv2.resize(up.enhance(img, outscale=2), (1024, 1024), interpolation=cv2.INTER_LANCZOS4)
    assert len(seen) == 8 * 8
    plain = cv2.resize(img, (1024, 1024), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(final[800:], network[800:])
    assert np.abs(final[800:].astype(int) - plain[800:]).mean() > 20


def test_faces_alone_are_upsampled_by_an_upsampler_of_their_own(rrdb_file):
    """``face_upsample`` without a background upsampler: the faces go through the network, the background is the
    plain bilinear resize (the official sets up Real-ESRGAN for the faces in this case)."""
    img = photo(256, 256)
    up = ours(rrdb_file, 32)
    seen = []
    up.net.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape[2:])))
    restorer = FaceRestorer('restoration', net=small_codeformer(), device='cpu')
    common = dict(upscale=2, detection_model='mtcnn', use_parse=False)
    plain = FaceEnhancer(restorer, **common).enhance(img)[2]
    upsampled = FaceEnhancer(restorer, face_upsample=True, face_upsampler=up, **common).enhance(img)[2]
    assert len(seen) == 2 * 2  # the face's tiles only
    assert np.array_equal(upsampled[800:], plain[800:])  # the background, far from the face
    assert np.abs(upsampled.astype(int) - plain).max() > 50  # the face
    with pytest.raises(ValueError, match='face_upsample needs an upsampler'):
        FaceEnhancer(restorer, face_upsample=True, face_upsampler=None, **common).enhance(img)


def test_a_one_channel_image_is_what_realesrgans_upsampler_gives(rrdb_file):
    gray = cv2.cvtColor(photo(40, 60), cv2.COLOR_BGR2GRAY)
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = official(rrdb_file, 32).enhance(gray, outscale=2)[0]
    mine = ours(rrdb_file, 32).enhance(gray, outscale=2)
    assert mine.shape == theirs.shape == (80, 120) and np.abs(mine.astype(int) - theirs).max() <= 1

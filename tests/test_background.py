"""Background and face upsampling through realesrgan's RealESRGANer, with a small RRDBNet the test saves."""
import cv2
import numpy as np
import torch
from basicsr.archs.rrdbnet_arch import RRDBNet

from codeformer.background import RealESRGANUpsampler
from codeformer.enhancer import FaceEnhancer
from codeformer.restorer import FaceRestorer
from tests.support.nets import save_checkpoint, small_codeformer


def small_upsampler(tmp_path):
    torch.manual_seed(0)
    net = RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=1, num_grow_ch=8, scale=2)
    path = save_checkpoint(net, tmp_path / 'rrdb.pth')
    model = RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=16, num_block=1, num_grow_ch=8, scale=2)
    return RealESRGANUpsampler(torch.device('cpu'), tile=32, model=model, model_path=path)


def test_any_output_scale_with_tiles_and_16_bit(tmp_path):
    up = small_upsampler(tmp_path)
    img = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    assert up.enhance(img, outscale=3).shape == (144, 192, 3)
    deep = up.enhance(img.astype(np.uint16) * 257, outscale=2)
    assert deep.shape == (96, 128, 3) and deep.dtype == np.uint16


def test_enhancer_uses_it_for_background_and_faces(tmp_path):
    """The background is the network's picture, tile by tile, not a plain resize; the restored face goes through the
    network too before it is pasted."""
    from skimage import data
    photo = np.ascontiguousarray(data.astronaut()[::2, ::2, ::-1])
    up = small_upsampler(tmp_path)
    seen = []  # the size of every input the network is called on
    up.upsampler.model.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape[2:])))
    restorer = FaceRestorer('restoration', net=small_codeformer(), device='cpu')
    enhancer = FaceEnhancer(restorer, upscale=2, detection_model='mtcnn', use_parse=False, bg_upsampler=up,
                            face_upsample=True)
    cropped, restored, final = enhancer.enhance(photo)
    assert len(restored) == 1 and final.shape == (1024, 1024, 3)  # 256 px enlarged to 512 first, as the official
    # every 32 px tile of the photo (256 px: 8 x 8 tiles) and of the restored face (the small network's 64 px: 2 x 2)
    # went through the network
    assert len(seen) == 8 * 8 + 2 * 2
    # far from the face (the bottom rows), the result is the network's output for the photo, enlarged to the working
    # size, and not what a plain resize of the photo gives
    seen.clear()
    network = cv2.resize(up.enhance(photo, outscale=2), (1024, 1024), interpolation=cv2.INTER_LANCZOS4)
    assert len(seen) == 8 * 8
    plain = cv2.resize(photo, (1024, 1024), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(final[800:], network[800:])
    assert np.abs(final[800:].astype(int) - plain[800:]).mean() > 20

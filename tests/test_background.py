"""Background and face upsampling through realesrgan's RealESRGANer, with a small RRDBNet the test saves."""
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
    from skimage import data
    photo = np.ascontiguousarray(data.astronaut()[::2, ::2, ::-1])
    restorer = FaceRestorer('restoration', net=small_codeformer(), device='cpu')
    enhancer = FaceEnhancer(restorer, upscale=2, detection_model='mtcnn', use_parse=False,
                            bg_upsampler=small_upsampler(tmp_path), face_upsample=True)
    cropped, restored, final = enhancer.enhance(photo)
    assert len(restored) == 1 and final.shape == (1024, 1024, 3)  # 256 px enlarged to 512 first, as the official

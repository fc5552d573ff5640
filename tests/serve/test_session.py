"""The page's settings turned into enhancers (``codeformer.serve.session.Models``)."""
from codeformer.background import RealESRGANUpsampler
from codeformer.restorer import FaceRestorer
from codeformer.serve.session import Models, Settings
from tests.support.nets import realesrgan_weights


def test_face_upsample_works_alone_and_shares_one_real_esrgan(tmp_path, monkeypatch, checkpoint):
    """The page's "Upsample the faces" without a background upsampler upsamples the faces (as the official), with
    the one Real-ESRGAN the server keeps for backgrounds and faces."""
    monkeypatch.setenv('CODEFORMER_WEIGHTS_DIR', str(tmp_path))
    realesrgan_weights(tmp_path)
    models = Models(FaceRestorer(model_path=str(checkpoint), device='cpu', progress=False))
    page = dict(detector='mtcnn', parse=False)
    faces_only = models.enhancer(Settings(face_upsample=True, **page))
    both = models.enhancer(Settings(bg_upsampler='realesrgan', face_upsample=True, **page))
    background_only = models.enhancer(Settings(bg_upsampler='realesrgan', **page))
    neither = models.enhancer(Settings(**page))
    assert isinstance(faces_only.face_upsampler, RealESRGANUpsampler) and faces_only.bg_upsampler is None
    assert faces_only.face_upsampler is both.face_upsampler is both.bg_upsampler is background_only.bg_upsampler
    assert background_only.face_upsampler is None
    assert neither.face_upsampler is None and neither.bg_upsampler is None


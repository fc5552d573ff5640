"""The ONNX export with a working ``weight`` input, and the onnxruntime backend, against PyTorch and the recordings."""
import importlib.util

import numpy as np
import pytest
import torch

from codeformer.archs import CodeFormer
from codeformer.onnx_backend import OnnxCodeFormer, open_session
from codeformer.onnx_export import check_onnx, export_onnx
from codeformer.restorer import FaceRestorer
from tests.support.golden import golden_input, golden_weights, recorded
from tests.support.nets import small_codeformer

pytestmark = pytest.mark.slow  # exports ONNX

if importlib.util.find_spec('onnxruntime') is None or importlib.util.find_spec('onnxscript') is None:
    pytest.skip('pip install onnxruntime onnxscript (requirements-dev.txt)', allow_module_level=True)


@pytest.fixture(scope='module')
def golden_net():
    net = CodeFormer().eval()
    net.load_state_dict(golden_weights(net))
    return net


@pytest.fixture(scope='module')
def golden_onnx(golden_net, tmp_path_factory):
    return export_onnx(golden_net, tmp_path_factory.mktemp('onnx') / 'golden.onnx', codes=True)


def test_golden_export_has_the_inputs_facefusion_feeds(golden_onnx):
    session = open_session(golden_onnx)
    assert [(i.name, i.shape[1:]) for i in session.get_inputs()] == [('input', [3, 512, 512]), ('weight', [])]
    assert isinstance(session.get_inputs()[0].shape[0], str)  # dynamic batch
    assert [o.name for o in session.get_outputs()] == ['output', 'codes']


def test_golden_export_at_w_0_and_1_in_one_call_matches_the_recordings(golden_onnx):
    session = open_session(golden_onnx)
    x = golden_input().repeat(2, 1, 1, 1).numpy()
    out, codes = session.run(None, {'input': x, 'weight': np.array([0.0, 1.0], np.float32)})
    for i, w in enumerate((0, 1)):
        np.testing.assert_array_equal(codes[i:i + 1], recorded(f'restoration_w{w}_adain1_idx'))
        diff = np.abs(out[i:i + 1, :, ::4, ::4] - recorded(f'restoration_w{w}_adain1_out'))
        assert diff.max() < 1e-2 and diff.mean() < 5e-4, (w, diff.max(), diff.mean())


def test_golden_export_at_w_03_and_07_in_one_call_matches_pytorch(golden_onnx, golden_net):
    check = check_onnx(golden_onnx, golden_net, weights=(0.3, 0.7))
    assert check.codes_equal == 1.0 and check.max_diff < 1e-3, check.line()


def test_one_weight_for_a_batch_and_the_restorer_backend(tmp_path):
    net = small_codeformer()
    path = export_onnx(net, tmp_path / 'small.onnx')
    onnx_net = OnnxCodeFormer(path)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        ref = net(x, w=0.6, adain=True)[0]
    torch.testing.assert_close(onnx_net(x, w=0.6)[0], ref, atol=1e-4, rtol=0)  # one weight, broadcast
    faces = [np.ascontiguousarray((np.random.default_rng(i).random((64, 64, 3)) * 255).astype(np.uint8))
             for i in range(3)]
    in_torch = FaceRestorer(net=net, device='cpu', precision='fp32').restore_faces(faces, w=[0.0, 0.5, 1.0])
    in_ort = FaceRestorer(net=net, device='cpu', backend='onnxruntime', onnx_path=path).restore_faces(
        faces, w=[0.0, 0.5, 1.0])
    for a, b in zip(in_torch, in_ort):
        assert np.abs(a.astype(int) - b).max() <= 1


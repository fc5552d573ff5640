"""``codeformer export-onnx`` and ``--backend onnxruntime`` as a user runs them, with a small network."""
import importlib.util

import cv2
import numpy as np
import pytest

from codeformer.utils.image_io import read_image, write_image
from tests.support.cli import ROOT, run_script

pytestmark = pytest.mark.slow  # exports ONNX, in subprocesses

if importlib.util.find_spec('onnxruntime') is None or importlib.util.find_spec('onnxscript') is None:
    pytest.skip('pip install onnxruntime onnxscript (requirements-dev.txt)', allow_module_level=True)


def test_export_writes_a_checked_file_with_a_weight_input(tmp_path, checkpoint):
    """In half precision, for GPU runtimes (the float32 export is what --backend onnxruntime uses, below)."""
    proc = run_script('-m codeformer', 'export-onnx', '--model_path', str(checkpoint), '-o', 'cf.onnx', '--fp16',
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'cf.onnx' and 'non-commercial' in proc.stderr
    assert 'onnxruntime vs PyTorch at w 0, 0.3, 0.7, 1: max |difference|' in proc.stderr
    import onnxruntime as ort
    session = ort.InferenceSession(str(tmp_path / 'cf.onnx'), providers=['CPUExecutionProvider'])
    assert [i.name for i in session.get_inputs()] == ['input', 'weight']
    assert 'float16' in session.get_inputs()[0].type
    assert [o.name for o in session.get_outputs()] == ['output']
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 64, 64)).astype(np.float16)
    low, high = (session.run(None, {'input': x, 'weight': np.array([w, w], np.float16)})[0] for w in (0.0, 1.0))
    assert np.abs(low.astype(np.float32) - high).mean() > 1e-3  # the weight works
    assert [p.name for p in tmp_path.iterdir()] == ['cf.onnx']  # no temporary file left


def test_export_to_an_unwritable_place_is_one_line(tmp_path, checkpoint):
    (tmp_path / 'file').write_text('x')
    proc = run_script('-m codeformer', 'export-onnx', '--model_path', str(checkpoint), '-o', 'file/cf.onnx',
                      '--no_check', cwd=tmp_path)
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert (tmp_path / 'file').read_text() == 'x'


def test_backend_onnxruntime_gives_the_pytorch_faces(tmp_path, checkpoint):
    face = cv2.imread(str(ROOT / 'inputs' / 'cropped_faces' / 'astronaut.png'))
    write_image(tmp_path / 'in' / 'face.png', face)
    results = {}
    for backend in ('pytorch', 'onnxruntime'):
        out = tmp_path / backend
        proc = run_script('inference_codeformer.py', '-w', '0.7', '--has_aligned', '-i', str(tmp_path / 'in'),
                          '-o', str(out), '--model_path', str(checkpoint), '--device', 'cpu', '--backend', backend,
                          '--precision', 'fp32', '-q')  # onnxruntime runs fp32; auto may decode in bf16 here
        assert proc.returncode == 0, proc.stderr
        results[backend] = read_image(out / 'restored_faces' / 'face.png').astype(int)
    assert np.abs(results['pytorch'] - results['onnxruntime']).max() <= 1
    assert (checkpoint.with_suffix('.onnx')).is_file()  # exported beside the weights, once

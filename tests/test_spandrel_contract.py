"""The contract with the tools that load CodeFormer through spandrel (A1111, Forge, ComfyUI, chaiNNer): a checkpoint in
the released layout, and one written by our training and exported with ``scripts/export_weights.py``, load there and
give our network's output at several fidelity weights, passed as spandrel passes them (``weight=``)."""
import importlib.util

import numpy as np
import pytest
import torch

from codeformer.archs import CodeFormer
from codeformer.restorer import load_codeformer
from tests.support.cli import run_script
from tests.support.golden import golden_input, golden_weights, recorded

pytestmark = pytest.mark.slow  # full-size networks, one of them through scripts/export_weights.py (~60 s)

if importlib.util.find_spec('spandrel') is None or importlib.util.find_spec('spandrel_extra_arches') is None:
    pytest.skip('pip install spandrel spandrel_extra_arches (requirements-dev.txt)', allow_module_level=True)


def load_in_spandrel(path):
    import spandrel
    import spandrel_extra_arches

    spandrel_extra_arches.install(ignore_duplicates=True)  # CodeFormer's licence keeps it out of spandrel's core
    descriptor = spandrel.ModelLoader('cpu').load_from_file(str(path))
    assert descriptor.architecture.id == 'CodeFormer'
    return descriptor.model.eval()


def test_released_layout_loads_and_matches_the_recordings(tmp_path):
    net = CodeFormer().eval()
    path = tmp_path / 'codeformer.pth'
    torch.save({'params_ema': golden_weights(net)}, path)
    model = load_in_spandrel(path)
    for w in (0, 0.5, 1):
        with torch.inference_mode():
            out, logits = model(golden_input(), weight=w)[:2]
        np.testing.assert_array_equal(logits.argmax(dim=2).numpy(), recorded(f'restoration_w{w}_adain1_idx'))
        diff = np.abs(out.numpy()[..., ::4, ::4] - recorded(f'restoration_w{w}_adain1_out'))
        assert diff.max() < 1e-2 and diff.mean() < 5e-4, (w, diff.max(), diff.mean())


def test_a_checkpoint_from_our_training_loads_and_matches_our_network(tmp_path):
    torch.manual_seed(1)
    trained = CodeFormer().eval()
    ema = {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v
           for k, v in trained.state_dict().items()}
    torch.save({'params': trained.state_dict(), 'params_ema': ema}, tmp_path / 'net_g_latest.pth')  # as trained
    proc = run_script('scripts/export_weights.py', str(tmp_path / 'net_g_latest.pth'), '-o', 'mine.pth', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ours = load_codeformer(tmp_path / 'mine.pth').eval()
    theirs = load_in_spandrel(tmp_path / 'mine.pth')
    x = torch.rand(1, 3, 512, 512) * 2 - 1
    with torch.inference_mode():  # the released layout is checked at w 0, 0.5 and 1 above
        a = ours(x, w=0.7, adain=True)[0]
        b = theirs(x, weight=0.7)[0]
    assert (a - b).abs().max() < 1e-3, (a - b).abs().max()

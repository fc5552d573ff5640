"""LPIPSLoss reads local weights only; without them it fails once, at construction, with one clear message."""
import pytest
import torch
from torchvision.models import vgg as tv_vgg

import codeformer  # noqa: F401  isort: skip
from basicsr.losses import build_loss

from codeformer.losses import LPIPSLoss, MissingWeightsError
from codeformer.losses.lpips_loss import CHANNELS


@pytest.fixture(scope='module')
def weight_files(tmp_path_factory):
    """Stand-ins for the VGG16 checkpoint (torchvision key names) and the LPIPS linear heads."""
    root = tmp_path_factory.mktemp('lpips')
    torch.manual_seed(0)
    features = tv_vgg.make_layers(tv_vgg.cfgs['D'])
    state = {f'features.{k}': v for k, v in features.state_dict().items()}
    state['classifier.0.weight'] = torch.zeros(2, 2)  # the real file holds the classifier too: ignored
    torch.save(state, root / 'vgg16-397923af.pth')
    torch.save({f'lin{i}.model.1.weight': torch.rand(1, c, 1, 1) for i, c in enumerate(CHANNELS)}, root / 'vgg.pth')
    return root / 'vgg16-397923af.pth', root / 'vgg.pth'


def test_missing_weights_name_what_and_where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MissingWeightsError) as info:
        LPIPSLoss(vgg_path=str(tmp_path / 'no_vgg.pth'), lin_path=str(tmp_path / 'no_lin.pth'))
    message = str(info.value)
    assert 'VGG16' in message and 'no_vgg.pth' in message and 'no_lin.pth' in message
    assert 'remove perceptual_opt' in message
    assert isinstance(info.value, FileNotFoundError)


def test_default_lookup_uses_the_torch_hub_cache(tmp_path, monkeypatch, weight_files):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    with pytest.raises(MissingWeightsError, match=str(tmp_path / 'hub')):
        LPIPSLoss(lin_path=str(weight_files[1]))
    (tmp_path / 'hub' / 'checkpoints').mkdir(parents=True)
    (tmp_path / 'hub' / 'checkpoints' / 'vgg16-397923af.pth').write_bytes(weight_files[0].read_bytes())
    assert isinstance(LPIPSLoss(lin_path=str(weight_files[1])), LPIPSLoss)


def test_distance_properties(weight_files):
    loss = build_loss({'type': 'LPIPSLoss', 'loss_weight': 2.0, 'vgg_path': str(weight_files[0]),
                       'lin_path': str(weight_files[1])})
    assert isinstance(loss, LPIPSLoss)
    torch.manual_seed(1)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    y = (x + 0.3 * torch.randn_like(x)).clamp(-1, 1)
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-6)
    d_xy = loss(x, y)
    assert d_xy.item() > 0
    torch.testing.assert_close(loss(y, x), d_xy)
    torch.testing.assert_close(d_xy, 2.0 * loss.distance(x, y).mean())
    far = loss(x, -x)
    assert far > d_xy  # a larger change is further away


def test_gradient_reaches_the_prediction_only(weight_files):
    loss = LPIPSLoss(vgg_path=str(weight_files[0]), lin_path=str(weight_files[1]))
    loss.train()
    assert not loss.training and not any(p.requires_grad for p in loss.parameters())
    pred = torch.zeros(1, 3, 32, 32, requires_grad=True)
    loss(pred, torch.rand(1, 3, 32, 32)).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0

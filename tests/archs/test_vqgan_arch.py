"""The stage-I VQGAN pieces: recorded outputs of the released autoencoder, quantizer and discriminator facts."""
import numpy as np
import torch

from codeformer.archs import VectorQuantizer, VQAutoEncoder, VQGANDiscriminator
from tests.support.golden import golden_input, golden_weights, recorded, recorded_shapes


def test_autoencoder_names_shapes_and_recorded_output():
    net = VQAutoEncoder(512, 64, [1, 2, 2, 4, 4, 8], 'nearest', codebook_size=1024).eval()
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == recorded_shapes('vqgan')
    net.load_state_dict(golden_weights(net), strict=True)
    with torch.inference_mode():
        out, loss, stats = net(golden_input())
    np.testing.assert_array_equal(stats['min_encoding_indices'].numpy(), recorded('vqgan_idx'))
    diff = np.abs(out.numpy()[..., ::4, ::4] - recorded('vqgan_out'))
    assert diff.max() < 1e-2 and diff.mean() < 5e-4, (diff.max(), diff.mean())
    assert loss.item() > 0 and 1 <= stats['perplexity'].item() <= 256


def test_quantizer_picks_nearest_entry_with_straight_through_gradient():
    vq = VectorQuantizer(8, 4)
    with torch.no_grad():
        vq.embedding.weight.copy_(torch.eye(8, 4) * 3)
    z = (torch.eye(8, 4)[[2, 0, 3, 1]] * 3 + 0.1).T.reshape(1, 4, 2, 2).clone().requires_grad_(True)
    z_q, loss, stats = vq(z)
    assert stats['min_encoding_indices'].flatten().tolist() == [2, 0, 3, 1]
    torch.testing.assert_close(loss, torch.tensor(1.25 * 0.01))
    z_q.sum().backward()
    torch.testing.assert_close(z.grad, torch.ones_like(z))
    feat = vq.get_codebook_feat(torch.tensor([[2, 0, 3, 1]]), (1, 2, 2, 4))
    torch.testing.assert_close(feat, z_q.detach())


def test_discriminator_layout():
    disc = VQGANDiscriminator(nc=3, ndf=64, n_layers=4)
    shapes = {k: tuple(v.shape) for k, v in disc.state_dict().items() if k.endswith('weight')}
    assert shapes['main.0.weight'] == (64, 3, 4, 4)
    assert shapes['main.8.weight'] == (512, 256, 4, 4)
    assert shapes['main.11.weight'] == (512, 512, 4, 4)  # stride-1 layer, channels capped at 8 x ndf
    assert shapes['main.14.weight'] == (1, 512, 4, 4)
    assert disc(torch.zeros(2, 3, 64, 64)).shape == (2, 1, 2, 2)

"""CodeFormer against outputs recorded from the official network, in the three released configurations."""
import numpy as np
import pytest
import torch

from codeformer.archs import CodeFormer
from tests.support.golden import golden_input, golden_weights, recorded, recorded_shapes

CONFIGS = {
    'restoration': {},
    'colorization': {'connect_list': ['32', '64', '128']},
    'inpainting': {'codebook_size': 512, 'connect_list': ['32', '64', '128']},
}
CASES = [('restoration', 0, True), ('restoration', 0.5, True), ('restoration', 1, True),
         ('colorization', 0, True), ('inpainting', 1, False)]


def build(config: str) -> CodeFormer:
    net = CodeFormer(**CONFIGS[config]).eval()
    net.load_state_dict(golden_weights(net), strict=True)
    return net


@pytest.mark.parametrize('config', sorted(CONFIGS))
def test_names_and_shapes_equal_the_released_checkpoint(config):
    net = CodeFormer(**CONFIGS[config])
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == recorded_shapes(config)


@pytest.mark.parametrize('config,w,adain', CASES)
def test_forward_matches_recording(config, w, adain):
    net = build(config)
    with torch.inference_mode():
        out, logits, lq_feat = net(golden_input(), w=w, adain=adain)
    tag = f'{config}_w{w}_adain{int(adain)}'
    idx = logits.argmax(dim=2).numpy()
    np.testing.assert_array_equal(idx, recorded(f'{tag}_idx'))
    diff = np.abs(out.numpy()[..., ::4, ::4] - recorded(f'{tag}_out'))
    assert diff.max() < 1e-2 and diff.mean() < 5e-4, (diff.max(), diff.mean())
    ldiff = np.abs(logits.numpy()[:, ::8] - recorded(f'{tag}_logits'))
    assert ldiff.max() < 1e-2 * max(1.0, np.abs(recorded(f'{tag}_logits')).max()), ldiff.max()
    assert out.shape == (1, 3, 512, 512) and lq_feat.shape == (1, 256, 16, 16)


def test_code_only_returns_logits_and_features():
    net = build('restoration')
    with torch.inference_mode():
        logits, lq_feat = net(golden_input(), code_only=True)
    assert logits.shape == (1, 256, 1024) and lq_feat.shape == (1, 256, 16, 16)
    np.testing.assert_array_equal(logits.argmax(dim=2).numpy(), recorded('restoration_w0_adain1_idx'))


@pytest.mark.slow  # the full-size network, three forwards
def test_w_changes_the_output_and_fusion_is_skipped_at_zero():
    net = build('restoration')
    x = golden_input()
    with torch.inference_mode():
        out0 = net(x, w=0, adain=True)[0]
        out1 = net(x, w=1, adain=True)[0]
    assert (out0 - out1).abs().max() > 0.05
    del net.fuse_convs_dict['32']  # w = 0 must never touch the fusion blocks
    with torch.inference_mode():
        torch.testing.assert_close(net(x, w=0, adain=True)[0], out0)


def test_small_configuration_keeps_the_layout():
    net = CodeFormer(dim_embd=64, n_head=4, n_layers=2, codebook_size=32, latent_size=4,
                     connect_list=['8', '16', '32'], img_size=64, nf=32).eval()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        out, logits, lq_feat = net(x, w=0.5, adain=True)
        out0 = net(x, w=0)[0]
    assert out.shape == (2, 3, 64, 64) and logits.shape == (2, 4, 32) and lq_feat.shape == (2, 256, 2, 2)
    assert not torch.equal(out, out0)
    assert net.fuse_convs_dict['16'].scale[0].weight.shape == (64, 64, 3, 3)


def test_bad_connect_list_is_rejected():
    with pytest.raises(ValueError, match='connect_list'):
        CodeFormer(connect_list=['48'])


@pytest.mark.parametrize('config', sorted(CONFIGS))
def test_config_is_inferred_from_a_checkpoint(config):
    shapes = recorded_shapes(config)
    state = {k: torch.empty(v) for k, v in shapes.items()}
    kwargs = CodeFormer.config_from_state_dict(state)
    with torch.device('meta'):
        net = CodeFormer(**kwargs)
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == shapes


@pytest.mark.slow  # the full-size network, batch of 2
def test_one_batch_with_a_fidelity_weight_per_sample_matches_the_recordings():
    """Two copies of the golden face at w = 0.5 and w = 1 in one call, passed as ``weight=`` (spandrel's name)."""
    net = build('restoration')
    x = golden_input().repeat(2, 1, 1, 1)
    with torch.inference_mode():
        out, logits, _ = net(x, weight=torch.tensor([0.5, 1.0]), adain=True)
    for i, w in enumerate((0.5, 1)):
        np.testing.assert_array_equal(logits[i:i + 1].argmax(dim=2).numpy(), recorded(f'restoration_w{w}_adain1_idx'))
        diff = np.abs(out[i:i + 1].numpy()[..., ::4, ::4] - recorded(f'restoration_w{w}_adain1_out'))
        assert diff.max() < 1e-2 and diff.mean() < 5e-4, (w, diff.max(), diff.mean())


def test_a_sample_at_zero_in_a_mixed_batch_gets_what_a_batch_at_zero_gets():
    net = CodeFormer(dim_embd=64, n_head=4, n_layers=2, codebook_size=32, latent_size=4,
                     connect_list=['8', '16', '32'], img_size=64, nf=32).eval()
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        mixed = net(x, w=[0.0, 0.7, 0.0])[0]
        zero = net(x, w=0)[0]
        seven = net(x, w=0.7)[0]
        single = net(x, w=torch.tensor([0.7]))[0]  # one value: the whole batch
    torch.testing.assert_close(mixed[[0, 2]], zero[[0, 2]], atol=1e-5, rtol=0)
    torch.testing.assert_close(mixed[1], seven[1], atol=1e-5, rtol=0)
    torch.testing.assert_close(single, seven, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match='3 values for a batch of 2'):
        net(x[:2], w=[0.1, 0.2, 0.3])


def test_a_logits_hook_picks_the_codes_decoded_and_argmax_changes_nothing():
    """``logits_hook`` (the video loop's temporal mode): the argmax through it is the plain forward, bit for bit; other
    codes through it are decoded, and the logits returned stay the network's own."""
    from tests.support.nets import small_codeformer

    net = small_codeformer()
    x = golden_input(batch=2, size=64)
    seen = []
    with torch.inference_mode():
        plain, logits, _ = net(x, w=0.5, adain=True)
        hooked, hooked_logits, _ = net(x, w=0.5, adain=True, logits_hook=lambda lg: seen.append(lg) or lg.argmax(2))
        forced = (logits.argmax(2) + 1) % logits.shape[2]
        other, other_logits, _ = net(x, w=0.5, adain=True, logits_hook=lambda lg: forced)
    assert len(seen) == 1 and seen[0].shape == logits.shape
    assert torch.equal(plain, hooked) and torch.equal(logits, hooked_logits) and torch.equal(logits, other_logits)
    assert (plain - other).abs().max() > 1e-3

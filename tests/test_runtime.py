"""Device, precision and batch-size choices (the GPU logic is exercised with the values a GPU would report)."""
import pytest
import torch

from codeformer.archs import CodeFormer
from codeformer.errors import InvalidOption
from codeformer.runtime import DeviceUnavailable, auto_batch_size, inference_dtype, prepare_for_inference, select_device
from tests.support.nets import small_codeformer


def test_devices_on_this_machine():
    assert select_device('cpu').type == 'cpu'
    assert select_device('auto').type in ('cpu', 'cuda', 'mps')
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailable, match='CUDA is not available'):
            select_device('cuda')
    with pytest.raises(DeviceUnavailable):
        select_device('tpu7')


def test_precision_policy():
    cuda = torch.device('cuda')
    assert inference_dtype(torch.device('cpu')) is torch.float32
    assert inference_dtype(torch.device('mps')) is torch.float32
    assert inference_dtype(cuda, bf16_supported=True) is torch.bfloat16
    assert inference_dtype(cuda, bf16_supported=False) is torch.float16
    assert inference_dtype(cuda, True, bf16_supported=True) is torch.float32  # --fp32
    assert inference_dtype(cuda, 'fp32', bf16_supported=True) is torch.float32
    assert inference_dtype(torch.device('cpu'), 'bf16') is torch.bfloat16  # asked for: given
    assert inference_dtype(cuda, 'fp16', bf16_supported=True) is torch.float16
    with pytest.raises(InvalidOption, match="precision='fp8': choose from auto, fp32, bf16, fp16"):
        inference_dtype(cuda, 'fp8')


def test_half_precision_keeps_the_code_choice_in_float32():
    """Convolutions in the chosen dtype; the transformer, its logits and the codebook in float32."""
    net = prepare_for_inference(small_codeformer(), 'cpu', torch.bfloat16)
    dtypes = {name: {p.dtype for p in getattr(net, name).parameters()} if name != 'position_emb'
              else {net.position_emb.dtype} for name in CodeFormer.FP32_PARTS}
    assert all(d == {torch.float32} for d in dtypes.values()), dtypes
    for part in (net.encoder, net.generator, net.fuse_convs_dict):
        assert {p.dtype for p in part.parameters()} == {torch.bfloat16}
    x = torch.rand(2, 3, 64, 64) * 2 - 1  # float32 in: cast where the network needs it
    with torch.inference_mode():
        out, logits, _ = net(x, w=torch.tensor([0.2, 0.9]), adain=True)
        ref_out, ref_logits, _ = prepare_for_inference(small_codeformer(), 'cpu')(x, w=torch.tensor([0.2, 0.9]),
                                                                                   adain=True)
    assert out.dtype is torch.bfloat16 and logits.dtype is torch.float32
    assert (logits.argmax(2) == ref_logits.argmax(2)).float().mean() >= 0.75
    # close to float32 where the decoder leads (w 0.2). Where the encoder's features lead (w 0.9, fusion weights x10
    # in this fixture) a CPU with native bfloat16 (oneDNN on AVX512-BF16/AMX) lands 0.26 away on average, one
    # without it 0.04: that is the precision question of the GPU issue, not this policy's
    assert (out[0].float() - ref_out[0]).abs().mean() < 0.05


def test_batch_size_from_free_memory():
    cuda = torch.device('cuda')
    assert auto_batch_size(torch.device('cpu')) == 1
    assert auto_batch_size(cuda, torch.float16, free_bytes=10 * 2**30) == 10  # 0.8 * 10 GiB / 768 MiB
    assert auto_batch_size(cuda, torch.float32, free_bytes=10 * 2**30) == 5
    assert auto_batch_size(cuda, torch.bfloat16, free_bytes=80 * 2**30) == 16  # capped
    assert auto_batch_size(cuda, torch.float16, free_bytes=100 * 2**20) == 1  # at least one


def test_prepare_for_inference():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).train()
    out = prepare_for_inference(net, 'cpu')
    assert not out.training and not any(p.requires_grad for p in out.parameters())
    assert out[0].weight.is_contiguous(memory_format=torch.channels_last)

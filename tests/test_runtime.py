"""Device, precision and batch-size choices (the GPU logic is exercised with the values a GPU would report)."""
import pytest
import torch

from codeformer.runtime import DeviceUnavailable, auto_batch_size, inference_dtype, prepare_for_inference, select_device


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
    assert inference_dtype(cuda, fp32=True, bf16_supported=True) is torch.float32


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

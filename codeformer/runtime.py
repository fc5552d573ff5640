"""Where and in which precision networks run: device choice, dtype policy, inference preparation."""
from __future__ import annotations

import torch
from torch import nn

from codeformer.errors import InvalidOption


class DeviceUnavailable(InvalidOption, RuntimeError):
    """The device asked for is not present on this machine."""


def select_device(name: str = 'auto') -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; an explicit name must exist."""
    name = (name or 'auto').lower()
    has_mps = bool(getattr(torch.backends, 'mps', None)) and torch.backends.mps.is_available()
    if name == 'auto':
        if torch.cuda.is_available():
            return torch.device('cuda')
        return torch.device('mps') if has_mps else torch.device('cpu')
    if name.startswith('cuda') and not torch.cuda.is_available():
        raise DeviceUnavailable('CUDA is not available on this machine', 'device', name)
    if name == 'mps' and not has_mps:
        raise DeviceUnavailable('Apple MPS is not available on this machine', 'device', name)
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise DeviceUnavailable(str(exc), 'device', name) from exc


PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')
_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), from torch's CPU capability and, on Linux,
    the CPU's flags; without it bfloat16 is emulated and slower than float32."""
    capability = torch.backends.cpu.get_cpu_capability().upper()
    if 'AMX' in capability or 'BF16' in capability:
        return True
    try:
        with open('/proc/cpuinfo') as info:
            flags = next((line for line in info if line.startswith('flags')), '').split()
    except OSError:
        return False
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


def inference_dtype(device: torch.device, precision: str | bool = 'auto',
                    bf16_supported: bool | None = None) -> torch.dtype:
    """The dtype of the convolutional networks for ``precision`` (``PRECISIONS``; True means 'fp32', as ``--fp32``).

    'auto': bfloat16 on CUDA where the GPU supports it natively (fp16 can overflow in the attention and GroupNorm
    statistics of this network), float16 on other GPUs, float32 on the CPU and MPS. The transformer, the logits and
    the codebook lookup run in float32 whatever is chosen (``CodeFormer.FP32_PARTS``): the choice of code is the step
    that half precision would change.
    """
    if precision is True:
        precision = 'fp32'
    elif precision is False or precision is None:
        precision = 'auto'
    if precision not in PRECISIONS:
        raise InvalidOption(f'choose from {", ".join(PRECISIONS)}', 'precision', precision)
    if precision != 'auto':
        return _DTYPES[precision]
    if device.type != 'cuda':
        return torch.float32
    if bf16_supported is None:
        bf16_supported = torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16_supported else torch.float16


def prepare_for_inference(net: nn.Module, device: torch.device | str | None = None,
                          dtype: torch.dtype = torch.float32) -> nn.Module:
    """The network in eval mode, without gradients, on ``device`` in ``dtype``, in the memory format
    that runs its convolutions fastest there (channels-last on the CPU and CUDA).

    Parts a network lists in ``FP32_PARTS`` (attribute names) stay in float32 (the precision policy).

    cuDNN's autotuning (``torch.backends.cudnn.benchmark``) is left off: it tunes again for every new input shape,
    and a folder of photos of many sizes (the detectors, the parsing and the paste run at each photo's size) paid
    2.0-3.3 s per new size with it against 0.22-0.36 s without, and fp32 batch 1 peaked at 33.1 GiB of GPU memory
    against 1.1 GiB (measured on an H200, torch 2.11, issue 18).
    """
    device = torch.device(device) if device is not None else next(net.parameters()).device
    net = net.eval().requires_grad_(False).to(device=device, dtype=dtype)
    for name in getattr(net, 'FP32_PARTS', ()):
        part = getattr(net, name)
        if isinstance(part, nn.Parameter):
            part.data = part.data.float()
        else:
            part.float()
    if device.type in ('cpu', 'cuda'):
        net = net.to(memory_format=torch.channels_last)
    return net


# Peak memory of one 512x512 face through CodeFormer at inference, by bytes per value (a conservative
# estimate: the largest activations are 64 x 512 x 512 values, plus the encoder features kept for fusion).
_BYTES_PER_FACE = {2: 768 * 2**20, 4: 1536 * 2**20}


def auto_batch_size(device: torch.device, dtype: torch.dtype = torch.float32, free_bytes: int | None = None,
                    most: int = 16) -> int:
    """Faces per network call when the user does not say.

    On the CPU batching does not raise throughput (measured in benchmarks/bench_network.py: batch 4 runs a
    face slower than batch 1, as the activations leave the caches), so it is 1 there. On a GPU, as many as
    fit in 80 % of the free memory, up to ``most``.
    """
    if device.type == 'cpu':
        return 1
    if device.type != 'cuda':
        return 2
    if free_bytes is None:
        free_bytes = torch.cuda.mem_get_info(device)[0]
    per_face = _BYTES_PER_FACE[torch.empty((), dtype=dtype).element_size() if dtype.is_floating_point else 4]
    return int(max(1, min(most, 0.8 * free_bytes // per_face)))

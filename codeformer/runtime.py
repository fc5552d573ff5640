"""Where and in which precision networks run: device choice, dtype policy, inference preparation."""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from codeformer.errors import InvalidOption
from codeformer.notices import logger
from codeformer.precisions import PRECISIONS


class DeviceUnavailable(InvalidOption, RuntimeError):
    """The device asked for is not present on this machine."""


NVIDIA_DEVICE_FILES = ('/dev/nvidia0', '/proc/driver/nvidia/version')
_told_gpu_unused = False


def nvidia_gpu_present(files: tuple[str, ...] = NVIDIA_DEVICE_FILES) -> bool:
    """Whether this machine has an NVIDIA GPU with its driver, whatever PyTorch was built for: the driver's device
    or version file, or ``nvidia-smi`` on the PATH."""
    import shutil
    return any(os.path.exists(f) for f in files) or shutil.which('nvidia-smi') is not None


def cuda_build_missing_notice() -> str:
    """What to say when an NVIDIA GPU is here and this PyTorch cannot use it."""
    build = torch.__version__.split('+')[-1] if '+' in torch.__version__ else 'a build'
    return (f'an NVIDIA GPU is here, but this PyTorch ({torch.__version__}) was built without CUDA ({build}), so '
            'everything runs on the CPU; for the GPU: pip install --force-reinstall torch torchvision --index-url '
            'https://download.pytorch.org/whl/cu130 (pytorch.org lists the build for your driver)')


def select_device(name: str = 'auto', gpu_present: Callable[[], bool] = nvidia_gpu_present) -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then the CPU; an explicit name must exist. An NVIDIA GPU that a CPU-only
    PyTorch cannot use is said once (a warning on the ``codeformer`` logger), never passed over in silence."""
    global _told_gpu_unused
    name = (name or 'auto').lower()
    has_mps = bool(getattr(torch.backends, 'mps', None)) and torch.backends.mps.is_available()
    if name == 'auto':
        if torch.cuda.is_available():
            return torch.device('cuda')
        if not _told_gpu_unused and gpu_present():
            logger.warning(cuda_build_missing_notice())
            _told_gpu_unused = True
        return torch.device('mps') if has_mps else torch.device('cpu')
    if name.startswith('cuda') and not torch.cuda.is_available():
        if gpu_present():
            raise DeviceUnavailable(cuda_build_missing_notice().replace(', so everything runs on the CPU', ''),
                                    'device', name)
        raise DeviceUnavailable('CUDA is not available on this machine', 'device', name)
    if name == 'mps' and not has_mps:
        raise DeviceUnavailable('Apple MPS is not available on this machine', 'device', name)
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise DeviceUnavailable(str(exc), 'device', name) from exc


_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16}


@dataclass(frozen=True)
class Precision:
    """How the networks run: ``dtype`` for the convolutions, and whether the parts that choose CodeFormer's codes
    (its encoder; the transformer, logits and codebook always) stay in float32 (``split``), so that only what comes
    after the codes (decoder, fusion, ParseNet) runs in ``dtype``."""
    name: str
    dtype: torch.dtype
    split: bool

    @property
    def fp32_parts(self) -> tuple[str, ...]:
        """CodeFormer's parts kept in float32 besides its ``FP32_PARTS``."""
        return ('encoder',) if self.split and self.dtype != torch.float32 else ()


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


def precision_policy(device: torch.device, precision: str | bool = 'auto', bf16_supported: bool | None = None,
                     cpu_bf16: bool | None = None) -> Precision:
    """The policy for ``precision`` (``PRECISIONS``; True means 'fp32', as ``--fp32``) on ``device``.

    'auto' is the split policy, codes chosen in float32 and the decoder in half precision, where half precision is
    native: on CUDA (bfloat16, or float16 on GPUs without it; the float32 parts run as PyTorch runs them there, with
    its default TF32 convolutions, as the official script does) and on CPUs with AVX512-BF16 or AMX (bfloat16).
    Elsewhere (other CPUs, where bfloat16 is emulated and slower; Apple MPS) float32. The split keeps every code of
    float32 (the code is the step half precision changes: an argmax over 1024 close logits); 'bf16' and 'fp16' put
    the encoder in half precision too (faster, some codes change).
    """
    if precision is True:
        precision = 'fp32'
    elif precision is False or precision is None:
        precision = 'auto'
    if precision not in PRECISIONS:
        raise InvalidOption(f'choose from {", ".join(PRECISIONS)}', 'precision', precision)
    if precision == 'auto':
        if device.type == 'cuda':
            if bf16_supported is None:
                bf16_supported = torch.cuda.is_bf16_supported()
            precision = 'bf16-split' if bf16_supported else 'fp16-split'
        elif device.type == 'cpu' and (cpu_has_native_bf16() if cpu_bf16 is None else cpu_bf16):
            precision = 'bf16-split'
        else:
            precision = 'fp32'
    split = precision.endswith('-split')
    return Precision(precision, _DTYPES[precision.removesuffix('-split')], split)


def prepare_for_inference(net: nn.Module, device: torch.device | str | None = None,
                          dtype: torch.dtype = torch.float32, fp32_parts: tuple[str, ...] = ()) -> nn.Module:
    """The network in eval mode, without gradients, on ``device`` in ``dtype``, in the memory format
    that runs its convolutions fastest there (channels-last on the CPU and CUDA).

    Parts a network lists in ``FP32_PARTS`` (attribute names), and those in ``fp32_parts`` (``Precision.fp32_parts``),
    stay in float32 (the precision policy). They are never cast down and back, which would round their weights.

    cuDNN's autotuning (``torch.backends.cudnn.benchmark``) is left off: it tunes again for every new input shape,
    and a folder of photos of many sizes (the detectors, the parsing and the paste run at each photo's size) paid
    2.0-3.3 s per new size with it against 0.22-0.36 s without, and fp32 batch 1 peaked at 33.1 GiB of GPU memory
    against 1.1 GiB (measured on an H200, torch 2.11, issue 18).
    """
    device = torch.device(device) if device is not None else next(net.parameters()).device
    net = net.eval().requires_grad_(False).to(device=device)
    keep = set(getattr(net, 'FP32_PARTS', ())) | set(fp32_parts)
    if dtype == torch.float32 or not keep:
        net = net.to(dtype)
    else:  # each part cast once, to its own dtype
        for name, child in net.named_children():
            child.to(torch.float32 if name in keep else dtype)
        for name, tensor in [*net.named_parameters(recurse=False), *net.named_buffers(recurse=False)]:
            if tensor.is_floating_point():
                tensor.data = tensor.data.to(torch.float32 if name in keep else dtype)
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


def inductor_cache_dir() -> Path:
    """Where compiled networks are kept between runs: ``$TORCHINDUCTOR_CACHE_DIR``, else the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache``) ``/codeformer/inductor``."""
    given = os.environ.get('TORCHINDUCTOR_CACHE_DIR')
    if given:
        return Path(given)
    return Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'codeformer' / 'inductor'


def compile_network(net: nn.Module) -> Callable:
    """``torch.compile`` of ``net`` for fixed input shapes (its callers pad their batches to one size, so a batch of
    another size or a new photo compiles nothing), with inductor's caches on disk (``inductor_cache_dir``): a second
    process loads the compiled code instead of compiling again."""
    os.environ.setdefault('TORCHINDUCTOR_CACHE_DIR', str(inductor_cache_dir()))
    return torch.compile(net, dynamic=False)


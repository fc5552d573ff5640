"""Compatibility with the packages we build on, in one place. Each fix is small and named.

1. ``torchvision.transforms.functional_tensor``: basicsr 1.4.2 (and realesrgan/gfpgan through it)
   imports this module, which torchvision 0.17 removed; every function basicsr takes from it
   (``rgb_to_grayscale``) lives on in ``torchvision.transforms.functional``. We serve that module under
   the old name, on demand, so importing codeformer does not pay for importing torchvision.
2. ``after_import``: run a function once a module has been imported, so our networks register in
   basicsr's ``ARCH_REGISTRY`` whenever basicsr is loaded, without making inference import basicsr
   (and torchvision with it: seconds of start-up).
3. ``resume_without_cuda``: basicsr 1.4.2's resume maps the saved state to ``torch.cuda.current_device()``
   (fails without CUDA) and ``--auto_resume`` looks in ``./experiments`` instead of the run's own folder.
4. ``distributed_without_cuda``: basicsr 1.4.2's ``--launcher pytorch|slurm`` pins each process to a GPU and
   talks NCCL, and wraps networks in DistributedDataParallel with a CUDA ``device_ids``; without CUDA the
   processes use gloo and CPU modules instead.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType

OLD_FUNCTIONAL_TENSOR = 'torchvision.transforms.functional_tensor'

_hooks: dict[str, list[Callable[[ModuleType], None]]] = {}


class _AliasLoader(importlib.abc.Loader):
    """Loads ``functional_tensor`` as the module object of ``torchvision.transforms.functional``."""

    def create_module(self, spec):
        return importlib.import_module('torchvision.transforms.functional')

    def exec_module(self, module):
        pass


class _HookedLoader(importlib.abc.Loader):
    """Wraps a module's real loader and runs the registered hooks after it has executed."""

    def __init__(self, loader: importlib.abc.Loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        for hook in _hooks.pop(module.__name__, []):
            hook(module)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == OLD_FUNCTIONAL_TENSOR:
            return self._functional_tensor_spec(fullname, path, target)
        if fullname in _hooks:
            spec = self._real_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _HookedLoader(spec.loader)
            return spec
        return None

    def _functional_tensor_spec(self, fullname, path, target):
        real = self._real_spec(fullname, path, target)
        return real if real is not None else importlib.util.spec_from_loader(fullname, _AliasLoader())

    def _real_spec(self, fullname, path, target):
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


def after_import(module_name: str, hook: Callable[[ModuleType], None]) -> None:
    """Call ``hook(module)`` now if ``module_name`` is imported already, else right after its import."""
    module = sys.modules.get(module_name)
    if module is not None:
        hook(module)
    else:
        _hooks.setdefault(module_name, []).append(hook)


def resume_without_cuda() -> None:
    """basicsr workaround: make basicsr 1.4.2's ``--auto_resume`` / ``resume_state`` work without CUDA.

    ``basicsr.train.load_resume_state`` maps the saved state to ``torch.cuda.current_device()``, which
    raises on a CPU-only torch, and ``--auto_resume`` looks for states under ``./experiments`` rather than
    the run's own ``training_states`` folder. ``train_pipeline`` looks the function up in its module at
    call time, so replacing it there is enough. Idempotent.
    """
    import os

    import torch
    from basicsr import train as basicsr_train
    from basicsr.utils import check_resume, scandir

    if getattr(basicsr_train.load_resume_state, 'without_cuda', False):
        return

    def load_resume_state(opt: dict) -> dict | None:
        path = opt['path'].get('resume_state')
        if opt['auto_resume']:
            folder = opt['path']['training_states']
            states = list(scandir(folder, suffix='state')) if os.path.isdir(folder) else []
            if states:
                latest = max(int(os.path.splitext(s)[0]) for s in states)
                path = opt['path']['resume_state'] = os.path.join(folder, f'{latest}.state')
        if not path:
            return None
        device = torch.device('cuda', torch.cuda.current_device()) if torch.cuda.is_available() else 'cpu'
        state = torch.load(path, map_location=device)
        check_resume(opt, state['iter'])
        return state

    load_resume_state.without_cuda = True
    basicsr_train.load_resume_state = load_resume_state


def distributed_without_cuda() -> None:
    """basicsr workaround: let ``--launcher pytorch`` (torchrun) and ``--launcher slurm`` train on CPU-only machines.

    basicsr 1.4.2 assumes CUDA in three places of the multi-process path: ``dist_util._init_dist_pytorch`` and
    ``_init_dist_slurm`` call ``torch.cuda.set_device(rank % torch.cuda.device_count())`` (a division by zero
    without GPUs) and join with the option file's or the default backend, 'nccl', which has no CPU tensors;
    ``BaseModel.model_to_device`` passes ``device_ids=[torch.cuda.current_device()]`` to DistributedDataParallel,
    which CPU modules must not get. Without CUDA we join over gloo and wrap with ``device_ids=None``; the rest of
    the path (sampler split, loss reduction, rank-0 logging and saving) is device-neutral. ``init_dist`` and the
    models look these functions up at call time, so replacing them in their modules is enough. With CUDA this
    changes nothing. Idempotent.
    """
    import os
    import subprocess

    import torch
    if torch.cuda.is_available():
        return
    import torch.distributed as dist
    from basicsr.models.base_model import BaseModel
    from basicsr.utils import dist_util
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    if getattr(dist_util._init_dist_pytorch, 'without_cuda', False):
        return

    def init_pytorch(backend: str = 'gloo', **kwargs) -> None:
        dist.init_process_group(backend='gloo', **kwargs)  # torchrun has set RANK, WORLD_SIZE, MASTER_ADDR/PORT

    def init_slurm(backend: str = 'gloo', port: int | None = None) -> None:
        env = os.environ
        first_node = subprocess.getoutput(f"scontrol show hostname {env['SLURM_NODELIST']} | head -n1")
        env['MASTER_ADDR'] = first_node
        env['MASTER_PORT'] = str(port if port is not None else env.get('MASTER_PORT', 29500))
        env['WORLD_SIZE'] = env['SLURM_NTASKS']
        env['RANK'] = env['SLURM_PROCID']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        dist.init_process_group(backend='gloo')

    def model_to_device(self, net: torch.nn.Module) -> torch.nn.Module:
        net = net.to(self.device)
        if self.opt['dist']:
            return DistributedDataParallel(net, device_ids=None,
                                           find_unused_parameters=self.opt.get('find_unused_parameters', False))
        return DataParallel(net) if self.opt['num_gpu'] > 1 else net

    init_pytorch.without_cuda = init_slurm.without_cuda = True
    dist_util._init_dist_pytorch = init_pytorch
    dist_util._init_dist_slurm = init_slurm
    BaseModel.model_to_device = model_to_device


def install() -> None:
    """Put the finder first on ``sys.meta_path``. Idempotent."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()

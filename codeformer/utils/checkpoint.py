"""Reading network weights from ``.pth`` files safely.

A ``.pth`` is a pickle, so every file is opened with ``torch.load(weights_only=True)``: a downloaded
file cannot run code. Released files wrap the state dict as ``{'params_ema': sd}`` (training files:
``{'params': sd}``, discriminators ``{'params_d': sd}``); bare state dicts are accepted too.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import torch
from torch import nn

from codeformer.errors import CodeformerError

DEFAULT_KEYS = ('params_ema', 'params')


class CheckpointError(CodeformerError, ValueError):
    """A file that is not a usable checkpoint; the message names the file and the cause."""


def read_state_dict(path: str | os.PathLike, keys: Iterable[str] = DEFAULT_KEYS,
                    map_location: str | torch.device = 'cpu') -> dict[str, torch.Tensor]:
    """The state dict stored in ``path`` under the first of ``keys`` present, or the bare dict."""
    try:
        obj = _load(os.fspath(path), map_location)
    except Exception as exc:  # unpickling errors come in many types
        raise CheckpointError(f'{path}: not a loadable checkpoint ({load_failure(exc)})') from exc
    if not isinstance(obj, Mapping):
        raise CheckpointError(f'{path}: holds a {type(obj).__name__}, not a state dict')
    for key in keys:
        if key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    state = {k[7:] if k.startswith('module.') else k: v for k, v in obj.items()}
    if not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f'{path}: no state dict found under {", ".join(keys)} or at the top level')
    return state


def load_failure(exc: BaseException) -> str:
    """The cause of a failed ``torch.load`` in one line. A file refused by ``weights_only`` gets the refusal itself
    (what the file tried to import), not PyTorch's lead-in, which advises loading it unsafely."""
    lines = [' '.join(line.split()) for line in str(exc).splitlines() if line.strip()]
    if lines and lines[0].startswith('Weights only load failed'):
        boilerplate = ('Check the documentation', 'Please file an issue')
        reasons = [line for line in lines[1:] if not line.startswith(boilerplate)]
        if reasons:
            return f'refused, as it could run code when loaded: {reasons[0]}'
        return 'refused, as it could run code when loaded'
    return lines[0] if lines else type(exc).__name__


def _load(path: str, map_location) -> object:
    """weights_only always; memory-mapped where the file's format allows (reads only what is used, once)."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    except RuntimeError as exc:
        if 'mmap' not in str(exc) and 'zipfile' not in str(exc):
            raise
        return torch.load(path, map_location=map_location, weights_only=True)  # legacy (non-zip) format


def mismatch(net: nn.Module, state: Mapping[str, torch.Tensor]) -> str | None:
    """A short description of how ``state`` fails to fit ``net`` (names and shapes), or None if it fits."""
    own = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(state[k].shape) != own[k])
    parts = []
    if missing:
        parts.append(f'{len(missing)} missing (e.g. {missing[0]})')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected (e.g. {unexpected[0]})')
    if wrong:
        k = wrong[0]
        parts.append(f'{len(wrong)} with wrong shape (e.g. {k}: {tuple(state[k].shape)} vs {own[k]})')
    return '; '.join(parts) or None


def load_network_weights(net: nn.Module, path: str | os.PathLike, keys: Iterable[str] = DEFAULT_KEYS,
                         strict: bool = True) -> nn.Module:
    """Load ``path`` into ``net``; with ``strict`` a mismatch is a CheckpointError naming the file."""
    state = read_state_dict(path, keys)
    if strict:
        problem = mismatch(net, state)
        if problem:
            raise CheckpointError(f'{path}: does not fit {type(net).__name__}: {problem}')
    net.load_state_dict(state, strict=strict)
    return net

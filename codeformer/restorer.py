"""The Python API: construct a restorer once, then restore many faces (like GFPGAN's ``GFPGANer``).

The CLI uses this class too. Faces are numpy images in OpenCV layout (BGR, uint8 or uint16); the
network sees RGB in [-1, 1] at its own size (512 for the released models) and results come back in
the input's size class and dtype.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from codeformer.archs.codeformer_arch import CodeFormer
from codeformer.backends import BACKENDS
from codeformer.errors import InvalidOption
from codeformer.runtime import (
    auto_batch_size,
    compile_network,
    precision_policy,
    select_device,
)
from codeformer.utils.checkpoint import CheckpointError, mismatch, read_state_dict
from codeformer.utils.image_io import max_value


@dataclass(frozen=True)
class Task:
    """How the official scripts call one released checkpoint."""
    weight: str  # weight-zoo key
    w: float | None  # None: the user chooses
    adain: bool


TASKS = {
    'restoration': Task('codeformer', None, True),
    'colorization': Task('codeformer_colorization', 0.0, True),
    'inpainting': Task('codeformer_inpainting', 1.0, False),
}


def faces_to_tensor(faces: list[np.ndarray], size: int, device: torch.device | str = 'cpu',
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """BGR uint8/uint16 faces (resized to ``size`` if needed) as a channels-last RGB batch in [-1, 1]."""
    arrays = []
    for face in faces:
        if face.ndim != 3 or face.shape[2] != 3:
            raise ValueError(f'faces must be H x W x 3 BGR images, got shape {face.shape}')
        if face.shape[:2] != (size, size):
            face = cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR)
        arrays.append(face.astype(np.float32) / max_value(face.dtype))
    x = torch.from_numpy(np.stack(arrays)[..., ::-1].copy()).permute(0, 3, 1, 2)
    if torch.device(device).type == 'cuda':
        x = x.pin_memory()  # page-locked, so the copy below runs asynchronously
    x = (x.to(device, non_blocking=True) * 2 - 1)
    return x.to(dtype=dtype, memory_format=torch.channels_last)


def tensor_to_faces(result: torch.Tensor, dtypes: list[np.dtype]) -> list[np.ndarray]:
    """The inverse of ``faces_to_tensor``: network outputs in [-1, 1] as BGR images of the given dtypes."""
    rgb = ((result.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    images = []
    for img, dtype in zip(rgb, dtypes):
        images.append(np.ascontiguousarray((img[..., ::-1] * max_value(dtype)).round().astype(dtype)))
    return images


def load_codeformer(path: str | os.PathLike) -> CodeFormer:
    """A CodeFormer built to fit the checkpoint at ``path`` (any compatible configuration) and loaded strictly."""
    state = read_state_dict(path)
    try:
        net = CodeFormer(**CodeFormer.config_from_state_dict(state), fix_modules=())
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f'{path}: not a CodeFormer checkpoint (no {exc})') from exc
    problem = mismatch(net, state)
    if problem:
        raise CheckpointError(f'{path}: not a CodeFormer checkpoint: {problem}')
    net.load_state_dict(state, strict=True)
    return net


def code_picker(states: Sequence, faces: list[np.ndarray]):
    """A ``logits_hook`` for ``CodeFormer.forward``: each face's codes from its state's ``pick`` (in order), or the
    argmax where its state is None."""
    def pick(logits: torch.Tensor) -> torch.Tensor:
        return torch.stack([one.argmax(dim=-1) if state is None else state.pick(one, face)
                            for one, state, face in zip(logits, states, faces)])
    return pick


class NetworkSource:
    """The network a restorer runs: given in memory, or the task's weights (``model_path`` or the released file),
    resolved and loaded the first time a backend asks."""

    def __init__(self, net: CodeFormer | None, weight: str, model_path: str | None, progress: bool) -> None:
        self._net, self._weight, self._model_path, self.progress = net, weight, model_path, progress
        self._file: Path | None = None

    @property
    def in_memory(self) -> bool:
        return self._net is not None

    def weight_file(self) -> Path | None:
        """The checkpoint's path (None for a network given in memory)."""
        if self._net is None and self._file is None:
            from codeformer.weight_zoo import resolve
            self._file = resolve(self._weight, self._model_path, progress=self.progress)
        return self._file

    def network(self) -> CodeFormer:
        if self._net is None:
            self._net = load_codeformer(self.weight_file())
        return self._net


class FaceRestorer:
    """CodeFormer on aligned faces, in batches.

    Args:
        task: 'restoration', 'colorization' or 'inpainting' (picks the released checkpoint and how it is called).
        w: fidelity weight in [0, 1] for restoration (small: quality, large: fidelity to the input).
        model_path: a checkpoint to use instead of the released one.
        device: 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'.
        fp32: the same as ``precision='fp32'``.
        precision: one of ``runtime.PRECISIONS`` (``runtime.precision_policy``: 'auto' chooses the codes in float32
            and decodes in half precision where that is native; 'bf16'/'fp16' run every convolution in it; the
            transformer, logits and codebook stay in float32 always).
        compile: run the network through ``torch.compile`` (``runtime.compile_network``): the first batch compiles
            (a minute or more on a CPU; later processes read the compiled code from the cache on disk).
        batch_size: faces per network call (None: ``runtime.auto_batch_size``).
        net: an already built network (skips loading; for embedding and tests).
        backend: 'pytorch', or 'onnxruntime' to run an ONNX export of the network (``onnx_path``; by default the
            weight file's name with ``.onnx``, exported there on first use). onnxruntime runs in float32.
    """

    def __init__(self, task: str = 'restoration', w: float = 0.5, model_path: str | None = None,
                 device: str = 'auto', fp32: bool = False, batch_size: int | None = None, net: CodeFormer | None = None,
                 progress: bool = True, backend: str = 'pytorch', onnx_path: str | os.PathLike | None = None,
                 precision: str = 'auto', compile: bool = False):
        if task not in TASKS:
            raise InvalidOption(f'unknown task; choose from {", ".join(TASKS)}', 'task', task)
        self.task = TASKS[task]
        self.w = float(self.task.w if self.task.w is not None else w)
        if not 0.0 <= self.w <= 1.0:
            raise InvalidOption('must be in [0, 1]', 'w', self.w)
        self.adain = self.task.adain
        entry = BACKENDS.get_entry(backend)
        self.backend = backend
        self.device = select_device(device)
        self.precision = 'fp32' if fp32 else precision
        self.policy = precision_policy(self.device, self.precision if entry.extra['precisions'] else 'fp32')
        self.dtype = self.policy.dtype  # of what runs after the codes are chosen (the decoder; ParseNet follows)
        self.batch_size = max(1, int(batch_size or auto_batch_size(self.device, self.dtype)))
        self.net = entry.factory(self, NetworkSource(net, self.task.weight, model_path, progress), onnx_path)
        self.size = int(self.net.resolution)
        self.compiled = None
        if compile:
            if not entry.extra['compiles']:
                raise InvalidOption('compiling needs a backend that compiles (pytorch)', 'backend', backend)
            self.compiled = compile_network(self.net)

    def restore_faces(self, faces: list[np.ndarray], w: float | Sequence[float] | None = None,
                      states: Sequence | None = None,
                      on_progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
        """Restore aligned faces (H x W x 3 BGR, any size: resized to the network's); returns
        ``size`` x ``size`` BGR images of each input's dtype.

        ``w``: the fidelity weight, None for this restorer's own, a float for all faces, or one value per face (faces
        with different values still share network batches; tasks with a fixed weight ignore it).
        ``states``: None, or per face None (the network's own codes) or an object whose ``pick(logits, face)`` turns
        the face's logits (positions x codebook) into its codes, e.g. with memory of earlier video frames
        (``codeformer.video.temporal``); faces are picked in order. PyTorch backend only.
        ``on_progress``: called after each network batch with (faces restored so far, faces in all), so a long call
        can show its progress.
        """
        weights = self.weights_for(len(faces), w)
        if states is not None and len(states) != len(faces):
            raise InvalidOption(f'{len(states)} states for {len(faces)} faces')
        if states is not None and any(s is not None for s in states) and not self.picks_codes:
            raise InvalidOption('picking codes with memory needs the pytorch backend', 'backend', self.backend)
        out: list[np.ndarray] = []
        for start in range(0, len(faces), self.batch_size):
            chunk = faces[start:start + self.batch_size]
            chunk_w = weights[start:start + self.batch_size]
            chunk_states = states[start:start + self.batch_size] if states is not None else []
            picks = any(s is not None for s in chunk_states)
            extra = {'logits_hook': code_picker(chunk_states, chunk)} if picks else {}
            with torch.inference_mode():  # every tensor an inference tensor (the compiled code is keyed on it)
                batch = faces_to_tensor(chunk, self.size, self.device, self.dtype)
                w_arg = chunk_w[0] if len(set(chunk_w)) == 1 else torch.tensor(chunk_w, dtype=torch.float32)
                if self.compiled is not None and not picks:
                    result = self._compiled_batch(batch, chunk_w)
                else:
                    result = self.net(batch, w=w_arg, adain=self.adain, **extra)[0]
            out.extend(tensor_to_faces(result, [f.dtype for f in chunk]))
            if on_progress is not None:
                on_progress(len(out), len(faces))
        return out

    def _compiled_batch(self, batch: torch.Tensor, weights: list[float]) -> torch.Tensor:
        """The compiled network on ``batch`` padded to ``batch_size`` (the last face repeated), ``w`` always a tensor:
        one input shape, so nothing is compiled again for a short last batch or another photo. (Faces whose codes are
        picked with memory, the video loop's temporal mode, run eagerly: the picking is Python between two halves.)"""
        count = batch.shape[0]
        spare = self.batch_size - count
        if spare > 0:
            batch = torch.cat([batch, batch[-1:].expand(spare, *batch.shape[1:])])
            weights = [*weights, *[weights[-1]] * spare]
        w = torch.tensor(weights, dtype=torch.float32, device=batch.device)
        return self.compiled(batch.contiguous(memory_format=torch.channels_last), w=w, adain=self.adain)[0][:count]

    @property
    def picks_codes(self) -> bool:
        """Whether ``restore_faces`` takes ``states`` (its backend's ``picks_codes``)."""
        return bool(BACKENDS[self.backend].extra['picks_codes'])

    def weights_for(self, count: int, w: float | Sequence[float] | None) -> list[float]:
        """One checked fidelity weight per face."""
        if self.task.w is not None or w is None:
            return [self.w] * count
        weights = [float(w)] * count if isinstance(w, (int, float)) else [float(v) for v in w]
        if len(weights) != count:
            raise InvalidOption(f'{len(weights)} fidelity weights for {count} faces')
        bad = [v for v in weights if not 0.0 <= v <= 1.0]
        if bad:
            raise InvalidOption('must be in [0, 1]', 'w', bad[0])
        return weights

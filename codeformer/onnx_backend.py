"""Running an exported CodeFormer (``onnx_export``) in onnxruntime behind the call ``FaceRestorer`` makes."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from codeformer.errors import import_optional


def open_session(path: str | os.PathLike, device: torch.device | str = 'cpu'):
    """An onnxruntime session for ``path``: the CUDA provider on a CUDA device when onnxruntime has it, else the CPU."""
    ort = import_optional('onnxruntime', 'pip install onnxruntime (onnxruntime-gpu for CUDA)', what='ONNX')
    providers = ['CPUExecutionProvider']
    if torch.device(device).type == 'cuda' and 'CUDAExecutionProvider' in ort.get_available_providers():
        providers.insert(0, 'CUDAExecutionProvider')
    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not the user's business
    return ort.InferenceSession(os.fspath(path), sess_options=options, providers=providers)


class OnnxCodeFormer:
    """An exported CodeFormer called like the PyTorch network: ``net(x, w=..., adain=...)`` -> (output,).

    ``adain`` was fixed when the file was exported; ``w`` is a float or one value per face.
    """

    def __init__(self, path: str | os.PathLike, device: torch.device | str = 'cpu'):
        self.path = Path(path)
        self.session = open_session(path, device)
        shape = self.session.get_inputs()[0].shape
        self.resolution = int(shape[-1])
        self.np_dtype = np.float16 if 'float16' in self.session.get_inputs()[0].type else np.float32

    def __call__(self, x: torch.Tensor, w: float | torch.Tensor = 0.5, adain: bool = True) -> tuple[torch.Tensor]:
        weight = np.asarray(w.cpu() if isinstance(w, torch.Tensor) else [w], dtype=self.np_dtype).reshape(-1)
        feed = {'input': x.detach().float().contiguous().cpu().numpy().astype(self.np_dtype), 'weight': weight}
        out = self.session.run(['output'], feed)[0]
        return (torch.from_numpy(out.astype(np.float32)).to(x.device),)

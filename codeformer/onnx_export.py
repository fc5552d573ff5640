"""CodeFormer as one ONNX file with the fidelity weight as an input, as facefusion runs it.

The file has inputs ``input`` (B x 3 x S x S, RGB in [-1, 1], dynamic batch) and ``weight`` (B values, or 1 for the
whole batch) and the output ``output`` (B x 3 x S x S in about [-1, 1]). The network's fusion is always in the graph
and multiplied by each face's weight (``CodeFormer.forward`` under export), so the weight really works, which exports
that traced ``if w > 0`` in Python did not allow. ``codes=True`` adds the output ``codes`` (B x positions, the
chosen codebook entries), for checking.

The file is derived from the weights it was made from: made from the released weights, it is under their licence
(NTU S-Lab License 1.0, non-commercial) and stays on the user's machine; never re-host it.
"""
from __future__ import annotations

import copy
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from codeformer.archs.codeformer_arch import CodeFormer

LICENCE_NOTE = ('the exported file is derived from the weights it was made from; made from the released CodeFormer '
                'weights it falls under their licence (NTU S-Lab License 1.0, non-commercial): keep it on your '
                'machine, do not re-host it')


class WeightedCodeFormer(nn.Module):
    """The graph that is exported: (input, weight) -> output [, codes]."""

    def __init__(self, net: CodeFormer, adain: bool = True, codes: bool = False):
        super().__init__()
        self.net, self.adain, self.codes = net, adain, codes

    def forward(self, input: torch.Tensor, weight: torch.Tensor):  # noqa: A002 (the name facefusion feeds)
        out, logits, _ = self.net(input, w=weight, adain=self.adain)
        return (out, logits.argmax(dim=2)) if self.codes else out


def export_onnx(net: CodeFormer, path: str | os.PathLike, opset: int = 18, fp16: bool = False, adain: bool = True,
                codes: bool = False) -> Path:
    """Write ``net`` to ``path`` (atomically: a finished file or none). ``fp16``: weights and inputs in half
    precision (for GPU runtimes)."""
    path = Path(path)
    size = int(net.resolution)
    dtype = torch.float16 if fp16 else torch.float32
    model = WeightedCodeFormer(copy.deepcopy(net).eval().to(dtype) if fp16 else net.eval(), adain, codes)
    example = (torch.zeros(2, 3, size, size, dtype=dtype), torch.tensor([0.3, 0.7], dtype=dtype))
    batch, weights = torch.export.Dim('batch'), torch.export.Dim('weights')
    tmp = path.with_name(f'.{path.name}.part')
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter('ignore')
            program = torch.onnx.export(model, example, input_names=['input', 'weight'],
                                        output_names=['output', 'codes'] if codes else ['output'],
                                        dynamic_shapes=({0: batch}, {0: weights}), opset_version=opset, dynamo=True,
                                        verbose=False)
            program.save(str(tmp), external_data=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass
class OnnxCheck:
    """How an exported file compares with PyTorch on the same faces and weights."""
    max_diff: float
    mean_diff: float
    codes_equal: float | None  # share of positions with the same code (None: the file has no ``codes``)
    weights: list[float]

    def line(self) -> str:
        codes = '' if self.codes_equal is None else f', codes equal {100 * self.codes_equal:.2f} %'
        return (f'onnxruntime vs PyTorch at w {", ".join(f"{w:g}" for w in self.weights)}: '
                f'max |difference| {self.max_diff:.2e}, mean {self.mean_diff:.2e}{codes}')


def check_onnx(path: str | os.PathLike, net: CodeFormer, weights: tuple[float, ...] = (0.0, 0.3, 0.7, 1.0),
               adain: bool = True, seed: int = 0) -> OnnxCheck:
    """Run the file in onnxruntime (CPU) and ``net`` in PyTorch on random faces, two per call with two different
    weights, and measure the difference."""
    from codeformer.onnx_backend import open_session

    session = open_session(path, 'cpu')
    has_codes = len(session.get_outputs()) > 1
    size = int(net.resolution)
    gen = torch.Generator().manual_seed(seed)
    diffs, equal, total = [], 0, 0
    pairs = [weights[i:i + 2] for i in range(0, len(weights), 2)]
    float_type = session.get_inputs()[0].type
    np_dtype = np.float16 if 'float16' in float_type else np.float32
    for pair in pairs:
        x = torch.rand(len(pair), 3, size, size, generator=gen) * 2 - 1
        w = torch.tensor(pair, dtype=torch.float32)
        outputs = session.run(None, {'input': x.numpy().astype(np_dtype), 'weight': w.numpy().astype(np_dtype)})
        with torch.inference_mode():
            ref, logits, _ = net.eval()(x, w=w, adain=adain)
        diffs.append(np.abs(outputs[0].astype(np.float32) - ref.numpy()))
        if has_codes:
            same = outputs[1] == logits.argmax(dim=2).numpy()
            equal, total = equal + int(same.sum()), total + same.size
    diff = np.concatenate([d.ravel() for d in diffs])
    return OnnxCheck(float(diff.max()), float(diff.mean()), equal / total if has_codes else None, list(weights))

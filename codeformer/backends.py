"""What runs the network (``FaceRestorer(backend=...)``): a registry, so that one more is one ``register`` call.

A backend's factory takes the restorer being built and a ``restorer.NetworkSource`` (the network given, or the weights
resolved and loaded only when asked) and returns the callable network: ``net(batch, w=..., adain=...)`` giving
(output, logits, features) as ``CodeFormer`` does, with ``resolution``. What a backend can do beyond that is said by
its entry's extras: ``precisions`` (it runs the precision policies; else float32 only), ``compiles``
(``torch.compile``), ``picks_codes`` (the ``logits_hook`` that the video's temporal mode uses)."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from codeformer.notices import logger
from codeformer.registry import Entry, Registry


class Source(Protocol):
    """Where a backend gets the network (``restorer.NetworkSource``)."""

    def weight_file(self) -> Path | None: ...

    def network(self) -> Any: ...


BACKENDS = Registry('backend', 'backend')


def register(name: str, factory: Callable[..., Any], help: str, precisions: bool = False, compiles: bool = False,
             picks_codes: bool = False) -> Entry:
    """Add a backend: ``factory(restorer, source, onnx_path)`` returns the callable network."""
    return BACKENDS.register(name, factory, help, precisions=precisions, compiles=compiles, picks_codes=picks_codes)


def _pytorch(restorer, source: Source, onnx_path: str | os.PathLike | None) -> Any:
    from codeformer.runtime import prepare_for_inference
    return prepare_for_inference(source.network(), restorer.device, restorer.dtype, restorer.policy.fp32_parts)


def _onnxruntime(restorer, source: Source, onnx_path: str | os.PathLike | None) -> Any:
    """The network as an onnxruntime session, exported (once, beside the weights) when the file is missing."""
    from codeformer.onnx_backend import OnnxCodeFormer

    if onnx_path is None:
        weight_file = source.weight_file()
        if weight_file is None:
            raise ValueError('backend onnxruntime with a network given in memory needs onnx_path')
        onnx_path = Path(weight_file).with_suffix('.onnx')
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        from codeformer.onnx_export import LICENCE_NOTE, export_onnx

        logger.info(f'exporting the network to {onnx_path} for onnxruntime (once; {LICENCE_NOTE})')
        export_onnx(source.network(), onnx_path, adain=restorer.adain)
    return OnnxCodeFormer(onnx_path, restorer.device)


register('pytorch', _pytorch, 'PyTorch (default): every precision, --compile, the temporal mode for videos',
         precisions=True, compiles=True, picks_codes=True)
register('onnxruntime', _onnxruntime, 'onnxruntime on an ONNX export of the network (made beside the weights on '
         'first use, or onnx_path); float32; the CUDA provider with onnxruntime-gpu')

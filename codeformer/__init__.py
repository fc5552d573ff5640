"""codeformer: batch face restoration with the CodeFormer network.

Importing the package applies the basicsr/torchvision compatibility shim (``codeformer.compat``)
first, so basicsr, realesrgan and gfpgan import afterwards. Heavy parts load on first use.
"""
import importlib

from codeformer import compat  # noqa: F401  isort: skip  (must run before basicsr is imported)

__version__ = '0.1.0'

_LAZY = {
    'CodeFormer': 'codeformer.archs',
    'VQAutoEncoder': 'codeformer.archs',
    'FaceRestorer': 'codeformer.restorer',
    'FaceEnhancer': 'codeformer.enhancer',
    'prepare_for_inference': 'codeformer.runtime',
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

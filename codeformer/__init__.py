"""codeformer: batch face restoration with the CodeFormer network.

Importing the package applies the basicsr/torchvision compatibility shim (``codeformer.compat``)
and registers our networks in basicsr's ``ARCH_REGISTRY``.
"""
from codeformer import (
    archs,  # noqa: F401  (registers networks)
    compat,  # noqa: F401  (must run before basicsr is imported)
)

__version__ = '0.1.0'

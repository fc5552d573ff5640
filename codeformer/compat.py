"""Compatibility shims for the packages we build on, applied before any of them is imported.

basicsr 1.4.2 (and realesrgan/gfpgan through it) imports ``torchvision.transforms.functional_tensor``,
a module torchvision 0.17 removed; every function basicsr takes from it (``rgb_to_grayscale``) lives
on in ``torchvision.transforms.functional``. Registering that module under the old name is the whole fix.
"""
import importlib
import sys

_OLD_NAME = 'torchvision.transforms.functional_tensor'


def install() -> None:
    """Make ``import basicsr`` work with current torchvision. Idempotent."""
    if _OLD_NAME in sys.modules:
        return
    try:
        importlib.import_module(_OLD_NAME)
    except ImportError:
        sys.modules[_OLD_NAME] = importlib.import_module('torchvision.transforms.functional')


install()

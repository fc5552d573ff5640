"""The one base class for errors whose message says everything a user needs to know.

A ``CodeformerError`` names the file (or option) and the cause in one line; the command line prints it as
``error: <message>`` without a traceback. Any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations


class CodeformerError(Exception):
    """An error with a complete one-line message (file or option, and the cause)."""


class InvalidOption(CodeformerError, ValueError):
    """A value the library does not accept: an unknown detector or task, a fidelity weight outside [0, 1], ..."""


class MissingPackage(CodeformerError, ModuleNotFoundError):
    """An optional package that the chosen feature needs is not installed; the message says how to install it."""


def import_optional(module: str, install: str, needed_for: str):
    """``importlib.import_module(module)``, or a ``MissingPackage`` saying what needs it and how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPackage(f'{needed_for} needs the {module} package: {install}') from exc

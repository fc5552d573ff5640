"""The one base class for errors whose message says everything a user needs to know.

A ``CodeformerError`` names the file (or argument) and the cause in one line; the command line prints it as
``error: <message>`` without a traceback. Any other exception is a bug and keeps its traceback.

The library speaks of its own arguments (``device='cuda': CUDA is not available``); an error about one carries it
(``argument``, ``value``, ``reason``) so that a front end can name its own option instead (``--device cuda: ...``).
"""
from __future__ import annotations


class CodeformerError(Exception):
    """An error with a complete one-line message (file or argument, and the cause)."""

    argument: str | None = None  # the library argument at fault, if one is
    value: object = None
    reason: str = ''


def about_argument(error: CodeformerError, reason: str, argument: str | None, value: object) -> str:
    """Set ``error``'s argument, value and reason; its message: ``argument=value: reason``, or the reason alone."""
    error.argument, error.value, error.reason = argument, value, reason
    return about(f'{argument}={value!r}', reason) if argument else reason


def about(subject: str, reason: str) -> str:
    """``subject: reason``, or ``subject needs ...`` where the reason is what it needs."""
    return f'{subject}{" " if reason.startswith("needs ") else ": "}{reason}'


class InvalidOption(CodeformerError, ValueError):
    """A value the library does not accept: an unknown detector or task, a fidelity weight outside [0, 1], ..."""

    def __init__(self, reason: str, argument: str | None = None, value: object = None):
        super().__init__(about_argument(self, reason, argument, value))


class MissingPackage(CodeformerError, ModuleNotFoundError):
    """An optional package that the chosen feature needs is not installed; the message says how to install it."""

    def __init__(self, reason: str, argument: str | None = None, value: object = None):
        super().__init__(about_argument(self, reason, argument, value))


def import_optional(module: str, install: str, argument: str | None = None, value: object = None,
                    what: str | None = None):
    """``importlib.import_module(module)``, or a ``MissingPackage`` naming what needs it (the argument and value, or
    ``what``) and how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        reason = f'{what + " " if what else ""}needs the {module} package: {install}'
        raise MissingPackage(reason, argument, value) from exc
